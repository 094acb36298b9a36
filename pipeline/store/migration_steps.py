"""The article store's schema history: migrations ``m001``–``m006``, in :data:`MIGRATIONS`.

There is one schema definition: :mod:`pipeline.store.schema` (what queries are written
against). The migrations here are the *history* that leads to it, each written as
operations on named tables and columns (Alembic's ``Operations``: ``create_table``,
``add_column``, ``alter_column`` in batch mode on SQLite), never as a second copy of a whole
table. :mod:`pipeline.store.migrations` applies them (and creates a new, empty store straight
from the schema instead). ``tests/store/test_migrations.py`` proves the two agree: an empty
database migrated step by step compares equal to :data:`pipeline.store.schema.metadata`
under Alembic's ``compare_metadata`` (types, nullability, keys, indexes), and a store left at
every earlier migration, with rows, upgrades to head keeping them.

The rules:

* :data:`MIGRATIONS` is append-only. Never change what a shipped migration does; add a new
  one (``m007_...``) and change :mod:`pipeline.store.schema` in the same commit.
* A migration names only what it changes, with the types as they were when it shipped.

``m002_append_only_triggers`` makes the review log and the revisions immutable at the
database level: an UPDATE or DELETE (or a PostgreSQL TRUNCATE) raises, whatever the caller.
``m006_utc_timestamps`` turns every time column from text into :class:`UTCDateTime`; its
:func:`convert_timestamps` also serves the passage DB's history
(:mod:`pipeline.index.migrations`), as do :func:`operations` and the :data:`Migration` type.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    column,
    update,
)
from sqlalchemy import table as sql_table

from pipeline.errors import StoreError
from pipeline.store.schema import APPEND_ONLY
from pipeline.store.timestamps import parse

Migration = Callable[[Connection], None]
"""One migration step: schema operations on a connection, inside the runner's transaction."""


def operations(conn: Connection) -> Operations:
    """Alembic's schema operations on ``conn`` (inside the caller's transaction)."""
    return Operations(MigrationContext.configure(conn))


def m001_initial(conn: Connection) -> None:
    """Users and roles, articles, immutable revisions, the review log, publications."""
    op = operations(conn)
    op.create_table(
        "users",
        Column("id", Integer, primary_key=True),
        Column("name", String(100), nullable=False, unique=True),
        Column("created_at", String(40), nullable=False),
    )
    op.create_table(
        "user_roles",
        Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
        Column("role", String(20), primary_key=True),
        Column("granted_by", Integer, ForeignKey("users.id"), nullable=True),
        Column("granted_at", String(40), nullable=False),
    )
    op.create_table(
        "articles",
        Column("id", Integer, primary_key=True),
        Column("slug", String(200), nullable=False, unique=True),
        Column("question", Text, nullable=False),
        Column("audience", String(20), nullable=False),
        Column("status", String(30), nullable=False),
        Column("revision_id", Integer, nullable=True),
        Column("revision_hash", String(64), nullable=True),
        Column("approved_hash", String(64), nullable=True),
        Column("published_revision_id", Integer, nullable=True),
        Column("published_hash", String(64), nullable=True),
        Column("version", Integer, nullable=False),
        Column("created_at", String(40), nullable=False),
        Column("updated_at", String(40), nullable=False),
        UniqueConstraint("question", "audience", name="uq_articles_question_audience"),
    )
    op.create_table(
        "revisions",
        Column("id", Integer, primary_key=True),
        Column("article_id", Integer, ForeignKey("articles.id"), nullable=False, index=True),
        Column("number", Integer, nullable=False),
        Column("parent_id", Integer, ForeignKey("revisions.id"), nullable=True),
        Column("content_hash", String(64), nullable=False),
        Column("article_json", Text, nullable=False),
        Column("evidence_json", Text, nullable=False),
        Column("corpus_version", String(64), nullable=False),
        Column("prompt_versions", Text, nullable=False),
        Column("model", String(200), nullable=True),
        Column("drafter", String(20), nullable=False),
        Column("settings_hash", String(64), nullable=False),
        Column("author_id", Integer, ForeignKey("users.id"), nullable=False),
        Column("created_at", String(40), nullable=False),
        UniqueConstraint("article_id", "number", name="uq_revisions_article_number"),
    )
    op.create_table(
        "review_log",
        Column("id", Integer, primary_key=True),
        Column("article_id", Integer, ForeignKey("articles.id"), nullable=False, index=True),
        Column("revision_id", Integer, ForeignKey("revisions.id"), nullable=False),
        Column("content_hash", String(64), nullable=False),
        Column("action", String(40), nullable=False),
        Column("actor_id", Integer, ForeignKey("users.id"), nullable=False),
        Column("comment", Text, nullable=True),
        Column("created_at", String(40), nullable=False),
    )
    op.create_table(
        "publications",
        Column("id", Integer, primary_key=True),
        Column("article_id", Integer, ForeignKey("articles.id"), nullable=False, index=True),
        Column("revision_id", Integer, ForeignKey("revisions.id"), nullable=False),
        Column("content_hash", String(64), nullable=False),
        Column("approval_id", Integer, ForeignKey("review_log.id"), nullable=False),
        Column("publish_id", Integer, ForeignKey("review_log.id"), nullable=False),
        Column("retract_id", Integer, ForeignKey("review_log.id"), nullable=True),
    )


def m002_append_only_triggers(conn: Connection) -> None:
    """Triggers that make the review log and the revisions reject UPDATE and DELETE."""
    if conn.dialect.name == "sqlite":
        for table in APPEND_ONLY:
            for operation in ("UPDATE", "DELETE"):
                conn.exec_driver_sql(
                    f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} "
                    f"ON {table} BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "CREATE OR REPLACE FUNCTION press_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            # No '%' format here: DB-API drivers read it as a parameter placeholder.
            "RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME || ' is append-only'; END $$"
        )
        for table in APPEND_ONLY:
            conn.exec_driver_sql(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION press_append_only()"
            )
            conn.exec_driver_sql(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION press_append_only()"
            )
    else:
        raise NotImplementedError(f"no append-only triggers for {conn.dialect.name}")


def m003_accounts_and_follow_ups(conn: Connection) -> None:
    """Password hashes for the web desk, and the link from a follow-up to its parent article."""
    op = operations(conn)
    op.create_table(
        "credentials",
        Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
        Column("password_hash", Text, nullable=False),
        Column("updated_at", String(40), nullable=False),
    )
    op.create_table(
        "follow_ups",
        Column("article_id", Integer, ForeignKey("articles.id"), primary_key=True),
        Column("parent_id", Integer, ForeignKey("articles.id"), nullable=False, index=True),
        Column("created_at", String(40), nullable=False),
    )


def m004_build_state(conn: Connection) -> None:
    """The cache key each article's revision was last confirmed under by `press build`."""
    operations(conn).create_table(
        "build_state",
        Column("article_id", Integer, ForeignKey("articles.id"), primary_key=True),
        Column("revision_id", Integer, ForeignKey("revisions.id"), nullable=False),
        Column("build_key", String(64), nullable=False),
        Column("updated_at", String(40), nullable=False),
    )


def m005_sessions_user_status_acknowledgements(conn: Connection) -> None:
    """Server-side desk sessions, a status per user (active, disabled, removed) and reviewers'
    acknowledgements of flagged checks (each tied to the review-log row that recorded it)."""
    op = operations(conn)
    op.add_column("users", Column("status", String(20), nullable=False, server_default="active"))
    op.create_table(
        "sessions",
        Column("id", Integer, primary_key=True),
        Column("token_hash", String(64), nullable=False, unique=True),
        Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
        Column("created_at", String(40), nullable=False),
        Column("last_seen_at", String(40), nullable=False),
        Column("address", String(100), nullable=False),
        Column("user_agent", String(300), nullable=False),
        Column("ended_at", String(40), nullable=True),
        Column("end_reason", String(100), nullable=True),
    )
    op.create_table(
        "acknowledgements",
        Column("log_id", Integer, ForeignKey("review_log.id"), primary_key=True),
        Column("check_index", Integer, nullable=False),
        Column("subject", Text, nullable=False),
    )


_M006_TIMES: dict[str, dict[str, bool]] = {
    "users": {"created_at": False},
    "user_roles": {"granted_at": False},
    "articles": {"created_at": False, "updated_at": False},
    "revisions": {"created_at": False},
    "review_log": {"created_at": False},
    "credentials": {"updated_at": False},
    "follow_ups": {"created_at": False},
    "build_state": {"updated_at": False},
    "sessions": {"created_at": False, "last_seen_at": False, "ended_at": True},
}
"""Every time column at m005 (table → column → nullable), all ``VARCHAR(40)`` then."""


def m006_utc_timestamps(conn: Connection) -> None:
    """Every time column becomes a timezone-aware UTC datetime (one precision: microseconds).

    The text values, written at three precisions, are converted in place: PostgreSQL casts
    them (``USING col::timestamptz``); SQLite gets them rewritten in SQLAlchemy's DATETIME
    layout and each table rebuilt with the new declared type (the append-only triggers are
    lifted for the rewrite and put back after).
    """
    convert_timestamps(conn, _M006_TIMES, String(40))
    if conn.dialect.name == "sqlite":
        m002_append_only_triggers(conn)


def convert_timestamps(conn: Connection, columns: dict[str, dict[str, bool]], was: String) -> None:
    """Turn text time columns (table → column → nullable) into ``DateTime(timezone=True)``,
    keeping every value (ISO-8601 text with a zone: :func:`pipeline.store.timestamps.parse`).
    On SQLite the caller re-creates triggers of the rebuilt tables."""
    op = operations(conn)
    new = DateTime(timezone=True)
    if conn.dialect.name == "postgresql":
        for name, times in columns.items():
            for col, nullable in times.items():
                op.alter_column(
                    name,
                    col,
                    type_=new,
                    existing_type=was,
                    existing_nullable=nullable,
                    postgresql_using=f"{col}::timestamptz",
                )
        return
    for name in APPEND_ONLY:
        if name in columns:
            for operation in ("update", "delete"):
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}_no_{operation}")
    for name, times in columns.items():
        _rewrite_sqlite_times(conn, name, list(times))
        # The new type comes in through reflect_args, not alter_column: a type change makes
        # the batch copy CAST(col AS DATETIME), which SQLite turns into the year alone.
        retyped = tuple(Column(col, new, nullable=nullable) for col, nullable in times.items())
        with op.batch_alter_table(name, recreate="always", reflect_args=retyped):
            pass


def _rewrite_sqlite_times(conn: Connection, name: str, cols: Sequence[str]) -> None:
    """Rewrite one table's ISO-8601 texts as SQLAlchemy's SQLite DATETIME text, in UTC."""
    rows = conn.execute(sql_table(name, column("rowid"), *(column(c) for c in cols)).select())
    typed = sql_table(name, column("rowid"), *(column(c, DateTime()) for c in cols))
    params = []
    for row in rows.all():
        values: dict[str, Any] = {"row": row[0]}
        for col, value in zip(cols, row[1:], strict=True):
            try:
                values[col] = None if value is None else parse(value).replace(tzinfo=None)
            except ValueError as exc:
                raise StoreError(
                    f"{name}.{col} of row {row[0]} is not a timestamp the store can convert: {exc}",
                    "Fix that value by hand (ISO-8601 with a zone, e.g. "
                    "2026-01-05T09:30:00+00:00) and open the store again; nothing was changed.",
                ) from exc
        params.append(values)
    if params:  # one executemany per table
        conn.execute(update(typed).where(typed.c.rowid == bindparam("row")), params)


MIGRATIONS: list[tuple[str, Migration]] = [
    ("m001_initial", m001_initial),
    ("m002_append_only_triggers", m002_append_only_triggers),
    ("m003_accounts_and_follow_ups", m003_accounts_and_follow_ups),
    ("m004_build_state", m004_build_state),
    ("m005_sessions_user_status_acknowledgements", m005_sessions_user_status_acknowledgements),
    ("m006_utc_timestamps", m006_utc_timestamps),
]
"""Every migration of the article store in the order it is applied. Append only."""
