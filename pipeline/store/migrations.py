"""Applying schema migrations: named, ordered, recorded in ``_migrations`` (simonw/llm style).

The runner serves two databases, each with its own history: the article store
(:data:`pipeline.store.migration_steps.MIGRATIONS`) and the passage DB
(:mod:`pipeline.index.migrations`). A new, empty store is created straight from the schema
(:func:`create_store`) and every migration recorded as applied, as Alembic advises
("create_all, then stamp head"); the migrations run only on stores that already exist.

Why not Alembic's script directory and ``alembic_version``: the migrations already shipped
under these names in ``_migrations`` tables on users' disks; a Python list keeps them in one
readable file that cannot be applied out of order, needs no ``env.py`` or config file in the
wheel, and serves the passage DB with the same runner. Alembic is used for what it is best
at: its operations (SQLite's table rebuilds) and its schema comparison.

:func:`migrate` runs every pending migration and records its name with the time, all in one
transaction: on SQLite it is ``BEGIN IMMEDIATE`` (a second process opening a fresh store
waits, then finds the work done); on PostgreSQL a transaction-scoped advisory lock does the
same. A failing migration leaves the store exactly as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, inspect, text

from pipeline.errors import StoreError
from pipeline.store.migration_steps import MIGRATIONS, Migration, m002_append_only_triggers
from pipeline.store.schema import metadata

_ADVISORY_LOCK_KEY = 7_410_523_301  # any constant shared by every Evidence Press process


def applied(conn: Connection) -> list[str]:
    """Names of the migrations already recorded in ``_migrations``, in the order applied."""
    rows = conn.exec_driver_sql("SELECT name FROM _migrations ORDER BY applied_at, name")
    return [row[0] for row in rows]


def upgrade(
    engine: Engine, migrations: Sequence[tuple[str, Migration]], create: Migration
) -> list[str]:
    """Open a connection on ``engine`` and :func:`migrate` it in one write transaction.

    On SQLite the transaction is ``BEGIN IMMEDIATE`` (the ``begin`` listener of
    :func:`pipeline.sqlite.use_sqlite_transactions` reads the ``sqlite_begin`` option) with
    foreign keys off, since a table rebuild drops and renames and SQLite only allows that
    switch outside a transaction; :func:`migrate` checks every key before commit, and they
    are on again after.
    """
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            _pragma(conn, "foreign_keys=OFF")
        try:
            conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                return migrate(conn, migrations, create=create)
        finally:
            if sqlite:
                _pragma(conn, "foreign_keys=ON")


def _pragma(conn: Connection, setting: str) -> None:
    """A PRAGMA on the driver's connection, outside any transaction SQLAlchemy would begin."""
    conn.connection.driver_connection.execute(f"PRAGMA {setting}")  # type: ignore[union-attr]


def create_store(conn: Connection) -> None:
    """A new, empty store straight from :mod:`pipeline.store.schema`, with its triggers."""
    metadata.create_all(conn)
    m002_append_only_triggers(conn)


def migrate(
    conn: Connection,
    migrations: Sequence[tuple[str, Migration]] = MIGRATIONS,
    *,
    create: Migration | None = None,
) -> list[str]:
    """Apply every pending migration inside the caller's transaction; returns their names.

    An empty database (no table at all) given ``create`` is built by it from the schema
    instead (every migration is then recorded as applied): the same result, which the tests
    check, without rebuilding tables that have no rows. The caller opens the transaction
    (``BEGIN IMMEDIATE`` on SQLite, with foreign keys off so a table can be rebuilt: this
    function checks them all before it returns); this function takes the PostgreSQL
    advisory lock itself.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
    empty = create is not None and not inspect(conn).get_table_names()
    conn.exec_driver_sql(
        "CREATE TABLE IF NOT EXISTS _migrations "
        "(name VARCHAR(200) PRIMARY KEY, applied_at VARCHAR(40) NOT NULL)"
    )
    done = set(applied(conn))
    ran: list[str] = []
    if empty and create is not None:
        create(conn)
    for name, migration in migrations:
        if name in done:
            continue
        if not empty:
            migration(conn)
        conn.execute(
            text("INSERT INTO _migrations (name, applied_at) VALUES (:name, :at)"),
            {"name": name, "at": datetime.now(UTC).isoformat(timespec="microseconds")},
        )
        ran.append(name)
    if ran and conn.dialect.name == "sqlite":
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise StoreError(
                f"Migrations {ran} would leave rows pointing at missing rows: {broken[:5]}",
                "Nothing was changed. Report this with the store file attached.",
            )
    return ran
