"""Named, ordered schema migrations recorded in a ``_migrations`` table (simonw/llm style).

Why not Alembic: the schema is small, there is one code path that opens the store, and an
append-only Python list is easy to read and impossible to apply out of order. The rules:

* :data:`MIGRATIONS` is append-only. Never edit or reorder a migration that has shipped; add
  a new one (``m003_...``) that changes the schema, and update :mod:`pipeline.store.schema`.
* Each migration builds its own frozen table definitions (or issues DDL) so it keeps doing
  exactly what it did when first released, whatever the current schema says.
* :func:`migrate` runs every pending migration and records its name with the time, all in one
  transaction: on SQLite it is ``BEGIN IMMEDIATE`` (a second process opening a fresh store
  waits, then finds the work done); on PostgreSQL a transaction-scoped advisory lock does the
  same. A failing migration leaves the store exactly as it was.

``m002_append_only_triggers`` makes the review log and the revisions immutable at the
database level: an UPDATE or DELETE (or a PostgreSQL TRUNCATE) raises, whatever the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    Connection,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from pipeline.store.schema import APPEND_ONLY

Migration = Callable[[Connection], None]

_ADVISORY_LOCK_KEY = 7_410_523_301  # any constant shared by every Evidence Press process


def m001_initial(conn: Connection) -> None:
    """Users and roles, articles, immutable revisions, the review log, publications."""
    md = MetaData()
    Table(
        "users",
        md,
        Column("id", Integer, primary_key=True),
        Column("name", String(100), nullable=False, unique=True),
        Column("created_at", String(40), nullable=False),
    )
    Table(
        "user_roles",
        md,
        Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
        Column("role", String(20), primary_key=True),
        Column("granted_by", Integer, ForeignKey("users.id"), nullable=True),
        Column("granted_at", String(40), nullable=False),
    )
    Table(
        "articles",
        md,
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
    Table(
        "revisions",
        md,
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
    Table(
        "review_log",
        md,
        Column("id", Integer, primary_key=True),
        Column("article_id", Integer, ForeignKey("articles.id"), nullable=False, index=True),
        Column("revision_id", Integer, ForeignKey("revisions.id"), nullable=False),
        Column("content_hash", String(64), nullable=False),
        Column("action", String(40), nullable=False),
        Column("actor_id", Integer, ForeignKey("users.id"), nullable=False),
        Column("comment", Text, nullable=True),
        Column("created_at", String(40), nullable=False),
    )
    Table(
        "publications",
        md,
        Column("id", Integer, primary_key=True),
        Column("article_id", Integer, ForeignKey("articles.id"), nullable=False, index=True),
        Column("revision_id", Integer, ForeignKey("revisions.id"), nullable=False),
        Column("content_hash", String(64), nullable=False),
        Column("approval_id", Integer, ForeignKey("review_log.id"), nullable=False),
        Column("publish_id", Integer, ForeignKey("review_log.id"), nullable=False),
        Column("retract_id", Integer, ForeignKey("review_log.id"), nullable=True),
    )
    md.create_all(conn)


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
    md = MetaData()
    Table("users", md, Column("id", Integer, primary_key=True))
    Table("articles", md, Column("id", Integer, primary_key=True))
    Table(
        "credentials",
        md,
        Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
        Column("password_hash", Text, nullable=False),
        Column("updated_at", String(40), nullable=False),
    )
    Table(
        "follow_ups",
        md,
        Column("article_id", Integer, ForeignKey("articles.id"), primary_key=True),
        Column("parent_id", Integer, ForeignKey("articles.id"), nullable=False, index=True),
        Column("created_at", String(40), nullable=False),
    )
    md.create_all(conn, tables=[md.tables["credentials"], md.tables["follow_ups"]])


def m004_build_state(conn: Connection) -> None:
    """The cache key each article's revision was last confirmed under by `press build`."""
    md = MetaData()
    Table("articles", md, Column("id", Integer, primary_key=True))
    Table("revisions", md, Column("id", Integer, primary_key=True))
    Table(
        "build_state",
        md,
        Column("article_id", Integer, ForeignKey("articles.id"), primary_key=True),
        Column("revision_id", Integer, ForeignKey("revisions.id"), nullable=False),
        Column("build_key", String(64), nullable=False),
        Column("updated_at", String(40), nullable=False),
    )
    md.create_all(conn, tables=[md.tables["build_state"]])


def m005_sessions_user_status_acknowledgements(conn: Connection) -> None:
    """Server-side desk sessions, a status per user (active, disabled, removed) and reviewers'
    acknowledgements of flagged checks (each tied to the review-log row that recorded it)."""
    conn.exec_driver_sql(
        "ALTER TABLE users ADD COLUMN status VARCHAR(20) NOT NULL DEFAULT 'active'"
    )
    md = MetaData()
    Table("users", md, Column("id", Integer, primary_key=True))
    Table("review_log", md, Column("id", Integer, primary_key=True))
    Table(
        "sessions",
        md,
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
    Table(
        "acknowledgements",
        md,
        Column("log_id", Integer, ForeignKey("review_log.id"), primary_key=True),
        Column("check_index", Integer, nullable=False),
        Column("subject", Text, nullable=False),
    )
    md.create_all(conn, tables=[md.tables["sessions"], md.tables["acknowledgements"]])


MIGRATIONS: list[tuple[str, Migration]] = [
    ("m001_initial", m001_initial),
    ("m002_append_only_triggers", m002_append_only_triggers),
    ("m003_accounts_and_follow_ups", m003_accounts_and_follow_ups),
    ("m004_build_state", m004_build_state),
    ("m005_sessions_user_status_acknowledgements", m005_sessions_user_status_acknowledgements),
]
"""Every migration in the order it is applied. Append only."""


def applied(conn: Connection) -> list[str]:
    """Names of the migrations already recorded in ``_migrations``, in the order applied."""
    rows = conn.exec_driver_sql("SELECT name FROM _migrations ORDER BY applied_at, name")
    return [row[0] for row in rows]


def migrate(conn: Connection) -> list[str]:
    """Apply every pending migration inside the caller's transaction; returns their names.

    The caller opens the transaction (``BEGIN IMMEDIATE`` on SQLite); this function takes
    the PostgreSQL advisory lock itself.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
    conn.exec_driver_sql(
        "CREATE TABLE IF NOT EXISTS _migrations "
        "(name VARCHAR(200) PRIMARY KEY, applied_at VARCHAR(40) NOT NULL)"
    )
    done = set(applied(conn))
    ran: list[str] = []
    for name, migration in MIGRATIONS:
        if name in done:
            continue
        migration(conn)
        conn.execute(
            text("INSERT INTO _migrations (name, applied_at) VALUES (:name, :at)"),
            {"name": name, "at": datetime.now(UTC).isoformat(timespec="microseconds")},
        )
        ran.append(name)
    return ran
