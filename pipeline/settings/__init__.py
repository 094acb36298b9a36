"""One typed settings object for the whole tool.

Values come from, highest priority first: keyword arguments (the CLI's flags), environment
variables ``PRESS_<GROUP>__<FIELD>`` (plus ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL`` for the
LLM group), the TOML file ``press.toml`` in the working directory (or the file named by
``PRESS_CONFIG``), and the defaults below. Every group forbids unknown keys, so a typo in
``press.toml`` is an error rather than a silently ignored value. :func:`describe`
reports where each value came from (``press config show``).

:func:`settings_hash` is stamped on every draft and is part of the build cache key
(:mod:`pipeline.build.cache`), so it covers exactly the fields that change *what is drafted*
(retrieval, drafting, prompts, the model and its sampling, embeddings, corpus) and none that
only change how or where it runs (threads, timeouts, retries, paths, secrets, the store, the
review desk): a thread count or a timeout must not make a build pay for every article again.
Every group declares, next to its fields, which are which (``DRAFTING`` / ``NOT_DRAFTING``);
a group with a field in neither set, or in both, is refused when the class is defined, so a
new field cannot be added without deciding.

Modules: ``group`` (the base every group derives from, with the drafting/not-drafting
field check), ``corpus`` (index, embeddings, chunking, ingest, retrieval), ``drafting`` (LLM,
prompts, draft), ``service`` (store, review desk, web), ``load`` (the :class:`Settings` object,
its sources and presets) and ``report`` (the settings hash, masking and ``press config show``).
"""
