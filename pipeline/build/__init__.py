"""Scheduled content builds (``press build`` / ``press schedule``).

One module per concern:

* :mod:`~pipeline.build.manifest` — the YAML manifest as a pydantic model;
* :mod:`~pipeline.build.cache` — the per-question cache key, compared with stored revisions;
* :mod:`~pipeline.build.shard` — ``--shard I/N``, a stable split across hosts;
* :mod:`~pipeline.build.ratelimit` — requests/min and tokens/min limits on LLM calls;
* :mod:`~pipeline.build.lock` — one build per store (file lock / PostgreSQL advisory lock);
* :mod:`~pipeline.build.runner` — plan, draft concurrently, commit as each finishes, eval,
  republish;
* :mod:`~pipeline.build.report` — the JSON report, its rich summary, the JSON-lines log;
* :mod:`~pipeline.build.schedule` — a crontab line and a systemd service + timer.

The command line is :mod:`pipeline.cli.build`.
"""
