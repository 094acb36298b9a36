"""The passage DB's named migrations: the article store's mechanism, its own history.

The passage DB (:mod:`pipeline.index.passages`) is a file of its own with its own
``_migrations`` table, run by the same :func:`pipeline.store.migrations.migrate`, so a
future column change is a migration here rather than a re-ingest. Its tables are defined
once, in :mod:`pipeline.index.passages`; these migrations are the history leading there, and
``tests/index/test_migrations.py`` compares the two.

Passage DBs written before versioning (``create_all``, no ``_migrations`` table) are
*adopted*: ``p001_initial`` finds their tables, creates nothing and is recorded as applied,
and the later migrations upgrade them like any other. A new passage DB is created from the
tables of :mod:`pipeline.index.passages` directly, with every migration recorded.
"""

from __future__ import annotations

from sqlalchemy import Column, Connection, Integer, String, Text, inspect

from pipeline.store.migration_steps import Migration, convert_timestamps, operations


def p001_initial(conn: Connection) -> None:
    """Files with their fingerprints, citations, passages and a key/value meta table (or, in
    a passage DB made before versioning, those tables as they are)."""
    if inspect(conn).has_table("files"):
        return  # adopted: written by create_all of the same tables before versioning
    op = operations(conn)
    op.create_table(
        "files",
        Column("path", String, primary_key=True),
        Column("sha256", String, nullable=False),
        Column("citations", Integer, nullable=False),
        Column("ingested_at", String, nullable=False),
    )
    op.create_table(
        "citations",
        Column("id", String, primary_key=True),
        Column("file", String, nullable=False, index=True),
        Column("data", Text, nullable=False),
    )
    op.create_table(
        "passages",
        Column("id", String, primary_key=True),
        Column("citation_id", String, nullable=False, index=True),
        Column("file", String, nullable=False, index=True),
        Column("ordinal", Integer, nullable=False),
        Column("section", String, nullable=False),
        Column("text", Text, nullable=False),
        Column("token_count", Integer, nullable=False),
    )
    op.create_table(
        "meta",
        Column("key", String, primary_key=True),
        Column("value", Text, nullable=False),
    )


def p002_utc_ingested_at(conn: Connection) -> None:
    """``files.ingested_at`` becomes an aware UTC datetime (it was text, to the second)."""
    convert_timestamps(conn, {"files": {"ingested_at": False}}, String())


PASSAGE_MIGRATIONS: list[tuple[str, Migration]] = [
    ("p001_initial", p001_initial),
    ("p002_utc_ingested_at", p002_utc_ingested_at),
]
"""Every migration of the passage DB in the order it is applied. Append only."""
