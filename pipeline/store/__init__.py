"""The article store: articles, immutable revisions, users and roles, the review log.

One module per concern:

* :mod:`~pipeline.store.db` — :class:`~pipeline.store.db.Store` (typed reads, the two write
  transactions, the engine) and :func:`~pipeline.store.db.store_url`;
* :mod:`~pipeline.store.schema` — the tables; :mod:`~pipeline.store.migration_steps` — their
  history (``m001``–``m006``); :mod:`~pipeline.store.migrations` — applying it;
* :mod:`~pipeline.store.records` — the typed rows readers get; :mod:`~pipeline.store.rows`
  — turning result rows into them;
* :mod:`~pipeline.store.transaction` — the writes inside one article transaction;
* :mod:`~pipeline.store.content` — what a revision's content hash covers;
* :mod:`~pipeline.store.timestamps` — timezone-aware UTC times and :func:`utc_now`;
* :mod:`~pipeline.store.credentials`, :mod:`~pipeline.store.sessions` — desk sign-in;
* :mod:`~pipeline.store.follow_ups` — follow-up links; :mod:`~pipeline.store.publications`
  — live publications and stale evidence; :mod:`~pipeline.store.build_state` — the build
  keys a revision was confirmed under.

Nothing here imports a later stage (drafting, citation checks, review): the review workflow
(:mod:`pipeline.review`) sits on top of the store.
"""
