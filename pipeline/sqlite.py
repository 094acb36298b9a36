"""The one SQLite connection recipe: real transactions, plus each database's PRAGMAs.

Both SQLite databases (the article store, :mod:`pipeline.store.db`, and the passage DB,
:mod:`pipeline.index.passages`) need transactions that mean what they say: a migration's
``CREATE TABLE`` and a table rebuild must roll back with the rows written beside them, and a
writer must be able to take the file's write lock at ``BEGIN``. pysqlite's own transaction
handling defeats both (it emits no ``BEGIN`` before DDL and begins lazily, at the first
INSERT/UPDATE/DELETE), so :func:`use_sqlite_transactions` applies SQLAlchemy's documented
recipe ("Serializable isolation / Savepoints / Transactional DDL" in its SQLite dialect
docs): the driver's handling off (``isolation_level = None``) and ``BEGIN`` emitted by
SQLAlchemy's ``begin`` event. A connection opts into ``BEGIN IMMEDIATE`` (or ``EXCLUSIVE``)
with ``conn.execution_options(sqlite_begin="IMMEDIATE")`` before ``conn.begin()``.

PRAGMAs are per connection in SQLite, so the same ``connect`` listener sets them on every
new one; each database passes its own (the store enforces foreign keys, the passage DB
relaxes ``synchronous``). ``tests/test_sqlite.py`` pins what each database ends up with.
PostgreSQL engines get none of this: the store calls it only for SQLite URLs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine, event


def use_sqlite_transactions(engine: Engine, pragmas: Mapping[str, str]) -> None:
    """Make ``engine``'s transactions real SQLite transactions and set ``pragmas`` on every
    new connection (``{"journal_mode": "WAL"}`` runs ``PRAGMA journal_mode=WAL``).

    Raises :class:`ValueError` for a non-SQLite engine: the recipe would break its driver.
    """
    if engine.dialect.name != "sqlite":
        raise ValueError(f"use_sqlite_transactions needs a SQLite engine, not {engine.url!r}")
    statements = [f"PRAGMA {name}={value}" for name, value in pragmas.items()]

    def on_connect(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.isolation_level = None  # pysqlite must not BEGIN (or not) on its own
        cursor = dbapi_connection.cursor()
        for statement in statements:
            cursor.execute(statement)
        cursor.close()

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", _begin)


def _begin(conn: Connection) -> None:
    """Emit ``BEGIN`` (in the mode the connection's ``sqlite_begin`` option names)."""
    conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get('sqlite_begin', '')}")
