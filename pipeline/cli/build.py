"""``press build`` and ``press schedule``, registered onto the main app by :func:`register`.

Thin shells over :mod:`pipeline.build`: load the manifest and settings, take the store's
build lock, run the build with a progress bar (stderr, only on a terminal and without
``--json``), print the summary (or JSON) and exit 0 (all done), 1 (some questions failed,
or an eval regression blocked publishing) or 2 (configuration error: bad manifest, bad
shard, unknown author, another build running).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from pipeline.cli.common import console, err_console, handled, open_index, progress_bar
from pipeline.errors import InputError

ManifestArg = Annotated[
    Path,
    typer.Argument(
        metavar="MANIFEST", help="The YAML build manifest (see evals/manifests/demo.yaml)."
    ),
]


def build(
    manifest_path: ManifestArg,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            metavar="I/N",
            help="Draft only shard I of N (a stable hash of question+audience), "
            "so N hosts can split one manifest.",
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Questions drafted at once (default: the manifest's)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be drafted; draft nothing.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Redraft every question, even unchanged ones.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    report_path: Annotated[
        Path | None, typer.Option("--report", help="Also write the JSON report to PATH.")
    ] = None,
    log_jsonl: Annotated[
        Path | None, typer.Option("--log-jsonl", help="Append one JSON event per line to PATH.")
    ] = None,
) -> None:
    """Keep a manifest's questions drafted: redraft only what changed, submit it for review.

    Each question (for each audience) has a cache key: question, audience, corpus version,
    prompt versions, model, drafter and settings hash. When the article's current revision
    was drafted with the same key it is reused without retrieval or an LLM call
    ("unchanged"); otherwise the question is drafted, stored as a new revision and
    submitted for review. Nothing unreviewed is ever published: only when a re-draft is
    identical to an approved revision, and the manifest sets republish_unchanged: true, is
    it published (as the manifest's publisher) and the site rebuilt. Each result is
    committed as soon as it is done, so a killed build resumes where it stopped. If the
    manifest names an eval set, it is scored after drafting and a regression against its
    baseline blocks publishing.

    The manifest's author (default press-build) must be a user with the author role
    (`press users add press-build --role author`); on an empty store it is registered as
    the first author, as `press draft` does. One build runs per store at a time.

    Exit codes: 0 all done; 1 some questions failed (listed) or an eval regression blocked
    publishing; 2 configuration or usage error (bad manifest or --shard, unknown author);
    75 another build is running on this store (try again later).
    """
    from pipeline.build.lock import build_lock
    from pipeline.build.manifest import load_manifest
    from pipeline.build.report import EventLog, summary_table
    from pipeline.build.runner import BuildOptions, manifest_settings, run_build
    from pipeline.build.shard import parse_shard
    from pipeline.store.db import Store
    events = EventLog(log_jsonl)
    with handled():
        options = BuildOptions(
            shard=parse_shard(shard) if shard is not None else None,
            concurrency=concurrency,
            dry_run=dry_run,
            force=force,
        )
        manifest = load_manifest(manifest_path)
        settings = manifest_settings(manifest)
        store = Store.from_settings(settings)
        with build_lock(store):
            index = open_index(settings, require_passages=True)
            progress = progress_bar(quiet=as_json)
            task = progress.add_task("drafting", total=None)

            def on_event(event: str, **data: Any) -> None:
                events(event, **data)
                if event == "build.start":
                    progress.update(task, total=data["to_draft"])
                elif event == "question.done":
                    progress.advance(task)

            try:
                with progress:
                    report = run_build(
                        manifest, settings, index, store, options=options, on_event=on_event
                    )
            finally:
                events.close()
    text = report.model_dump_json(indent=2)
    if report_path is not None:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(text + "\n", encoding="utf-8")
    if as_json:
        typer.echo(text)
    else:
        console.print(summary_table(report))
        if report.eval is not None and report.eval.baseline_written:
            console.print(f"eval baseline written: {report.eval.baseline}", markup=False)
        if report.publish_blocked:
            err_console.print(f"publishing refused: {report.publish_blocked}", markup=False)
        if report.published:
            console.print("published: " + ", ".join(report.published), markup=False)
    for row in report.failed:
        err_console.print(
            f"failed: {row.question} ({row.audience}): {row.error}", markup=False, highlight=False
        )
    raise typer.Exit(report.exit_code)


def schedule(
    manifest_path: ManifestArg,
    at: Annotated[
        str | None,
        typer.Option("--at", metavar="HH:MM", help="Daily start time (default: the manifest's)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print a crontab line and a systemd service + timer that run the build daily.

    Paths are absolute (this installation's press, the current folder, the manifest), so
    the output installs as is: `crontab -e`, or save the units under /etc/systemd/system/
    and `systemctl enable --now press-build-NAME.timer`.
    """
    from pipeline.build.manifest import load_manifest
    from pipeline.build.schedule import make_schedule
    with handled():
        manifest = load_manifest(manifest_path)
        when = at or manifest.schedule_at
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", when):
            raise InputError(f"Bad time {when!r}", "Pass --at HH:MM (24-hour), e.g. --at 02:30.")
        plan = make_schedule(manifest.name, manifest_path, when)
    if as_json:
        typer.echo(json.dumps(plan.__dict__, indent=2))
        return
    typer.echo("# crontab (crontab -e):")
    typer.echo(plan.crontab)
    typer.echo(f"\n# /etc/systemd/system/{plan.service_name}")
    typer.echo(plan.service)
    typer.echo(f"# /etc/systemd/system/{plan.timer_name}")
    typer.echo(plan.timer)
    typer.echo(f"# then: systemctl daemon-reload && systemctl enable --now {plan.timer_name}")


def register(app: typer.Typer) -> None:
    """Add ``build`` and ``schedule`` to the main app."""
    app.command("build")(build)
    app.command("schedule")(schedule)
