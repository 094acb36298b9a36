"""The SQLite connection recipe both databases use (the article store and the passage DB).

Pins what a fresh connection of each ends up with (its PRAGMAs), that a transaction really
is one (DDL and DML written before a failing statement are rolled back together), that
``sqlite_begin="IMMEDIATE"`` takes the write lock at BEGIN, and that a PostgreSQL store gets
none of it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import OperationalError

from pipeline.index.passages import PassageDB
from pipeline.store.db import Store


def _store(tmp_path: Path) -> Engine:
    return Store(f"sqlite:///{tmp_path / 'press.sqlite'}").engine


def _passages(tmp_path: Path) -> Engine:
    return PassageDB(tmp_path / "index" / "passages.sqlite").engine


def _pragmas(engine: Engine) -> dict[str, object]:
    engine.dispose()  # the next connection is a fresh one: its PRAGMAs come from the listener
    with engine.connect() as conn:
        return {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("foreign_keys", "journal_mode", "synchronous")
        }


def test_the_article_store_enforces_foreign_keys_in_wal_mode(tmp_path: Path) -> None:
    # synchronous stays SQLite's default, FULL (2): a review decision is never lost on power loss
    expected = {"foreign_keys": 1, "journal_mode": "wal", "synchronous": 2}
    assert _pragmas(_store(tmp_path)) == expected


def test_the_passage_db_trades_durability_for_speed_in_wal_mode(tmp_path: Path) -> None:
    # NORMAL (1): a crash may lose the last ingest commits, never corrupt the file
    expected = {"foreign_keys": 0, "journal_mode": "wal", "synchronous": 1}
    assert _pragmas(_passages(tmp_path)) == expected


@pytest.mark.parametrize("open_engine", [_store, _passages], ids=["store", "passages"])
def test_a_failing_statement_rolls_back_ddl_and_dml_of_its_transaction(
    open_engine: object, tmp_path: Path
) -> None:
    engine = open_engine(tmp_path)  # type: ignore[operator]
    with engine.connect() as conn:
        with pytest.raises(OperationalError), conn.begin():
            conn.exec_driver_sql("CREATE TABLE scratch (x INTEGER)")
            conn.exec_driver_sql("INSERT INTO scratch (x) VALUES (1)")
            conn.exec_driver_sql("INSERT INTO no_such_table (x) VALUES (1)")
        assert not inspect(conn).has_table("scratch")


@pytest.mark.parametrize("open_engine", [_store, _passages], ids=["store", "passages"])
def test_begin_immediate_takes_the_write_lock_before_any_statement(
    open_engine: object, tmp_path: Path
) -> None:
    engine = open_engine(tmp_path)  # type: ignore[operator]
    other = sqlite3.connect(str(engine.url.database), timeout=0, isolation_level=None)
    try:
        with engine.connect() as conn:
            conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin(), pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            other.execute("BEGIN IMMEDIATE")  # free again once the transaction ended
            other.execute("ROLLBACK")
    finally:
        other.close()


def test_a_postgresql_store_gets_no_sqlite_listener(pg_url: str) -> None:
    store = Store(pg_url)
    try:
        assert not store.engine.dispatch.begin
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW transaction_isolation").scalar() == "read committed"
    finally:
        store.close()
