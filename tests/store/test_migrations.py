"""The article store's migrations: one schema, and every older store upgrades in place.

* An empty database migrated step by step equals :data:`pipeline.store.schema.metadata` under
  Alembic's ``compare_metadata`` (types included), on SQLite and on PostgreSQL.
* A store stopped after each older migration, with a row in every table (time columns
  written at the three precisions earlier builds used), upgrades to head and keeps every
  row and value; the times come back as the same instants, aware and in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData, create_engine, insert, inspect, select

from pipeline.errors import StoreError
from pipeline.store import schema
from pipeline.store.db import Store
from pipeline.store.migration_steps import MIGRATIONS
from pipeline.store.migrations import migrate

# the three precisions earlier builds wrote (utc_now, build reports, ingest / build cache)
OLD_TIMES = (
    "2026-01-05T09:30:00.123456+00:00",
    "2026-01-05T09:30:00.123+00:00",
    "2026-01-05T09:30:00+00:00",
)


def schema_differences(conn: Connection, metadata: MetaData) -> list[Any]:
    """What ``compare_metadata`` finds between the database and ``metadata``."""
    context = MigrationContext.configure(
        conn,
        opts={
            "compare_type": True,
            "include_name": lambda name, kind, _parent: name != "_migrations",
        },
    )
    return list(compare_metadata(context, metadata))


def migrate_first(url: str, k: int) -> None:
    """Leave the store at ``url`` as an older build would have: only the first k migrations."""
    engine = create_engine(url)
    with engine.begin() as conn:
        migrate(conn, MIGRATIONS[:k])
    engine.dispose()


def fill(url: str) -> dict[str, dict[str, Any]]:
    """One row in every table the store has (id 1 everywhere, so every foreign key holds)."""
    engine = create_engine(url)
    written: dict[str, dict[str, Any]] = {}
    with engine.begin() as conn:
        found = MetaData()
        found.reflect(conn)
        times = iter(OLD_TIMES * 20)
        for table in found.sorted_tables:
            if table.name == "_migrations":
                continue
            row: dict[str, Any] = {}
            for column in table.columns:
                if column.name.endswith("_at"):
                    row[column.name] = next(times)
                elif column.type.python_type is int:
                    row[column.name] = 1
                else:
                    row[column.name] = f"{table.name}.{column.name}"
            conn.execute(insert(table).values(row))
            written[table.name] = row
    engine.dispose()
    return written


def test_an_empty_store_migrated_step_by_step_is_exactly_the_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'press.sqlite'}"
    migrate_first(url, len(MIGRATIONS))
    engine = create_engine(url)
    with engine.connect() as conn:
        assert schema_differences(conn, schema.metadata) == []
    engine.dispose()


def test_a_new_store_is_created_from_the_schema_and_stamped(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'press.sqlite'}")
    assert store.migrations() == [name for name, _ in MIGRATIONS]
    with store.engine.connect() as conn:
        assert schema_differences(conn, schema.metadata) == []
    store.close()


def test_the_comparison_sees_a_store_one_migration_short(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'press.sqlite'}"
    migrate_first(url, len(MIGRATIONS) - 1)
    engine = create_engine(url)
    with engine.connect() as conn:
        kinds = {diff[0][0] for diff in schema_differences(conn, schema.metadata)}
    engine.dispose()
    assert kinds == {"modify_type"}


@pytest.mark.parametrize("k", range(1, len(MIGRATIONS)))
def test_a_store_left_at_an_older_migration_upgrades_with_its_rows(tmp_path: Path, k: int) -> None:
    url = f"sqlite:///{tmp_path / 'press.sqlite'}"
    migrate_first(url, k)
    written = fill(url)
    store = Store(url)
    assert store.migrated == [name for name, _ in MIGRATIONS[k:]]
    assert_kept(store, written)
    store.close()


def assert_kept(store: Store, written: dict[str, dict[str, Any]]) -> None:
    """Every written row is there with equal values; times as the same aware UTC instant."""
    with store.engine.connect() as conn:
        assert schema_differences(conn, schema.metadata) == []
        for name, row in written.items():
            [stored] = conn.execute(select(schema.metadata.tables[name])).mappings().all()
            for key, value in row.items():
                if key.endswith("_at"):
                    assert stored[key] == datetime.fromisoformat(value), (name, key)
                    assert stored[key].tzinfo is UTC
                else:
                    assert stored[key] == value, (name, key)


def test_the_three_old_precisions_read_back_as_the_same_instants(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'press.sqlite'}"
    migrate_first(url, len(MIGRATIONS) - 1)
    engine = create_engine(url)
    with engine.begin() as conn:
        for n, at in enumerate(OLD_TIMES, start=1):
            conn.exec_driver_sql(
                "INSERT INTO users (id, name, created_at) VALUES (?, ?, ?)", (n, f"u{n}", at)
            )
    engine.dispose()
    store = Store(url)
    assert [u.created_at for u in store.users()] == [
        datetime(2026, 1, 5, 9, 30, 0, 123456, tzinfo=UTC),
        datetime(2026, 1, 5, 9, 30, 0, 123000, tzinfo=UTC),
        datetime(2026, 1, 5, 9, 30, 0, tzinfo=UTC),
    ]
    store.close()


def test_a_value_that_is_no_timestamp_stops_the_upgrade_and_changes_nothing(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'press.sqlite'}"
    migrate_first(url, len(MIGRATIONS) - 1)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO users (id, name, created_at) VALUES (1, 'kim', 't')")
    with pytest.raises(StoreError, match=r"users.created_at of row 1") as info:
        Store(url)
    assert "nothing was changed" in info.value.hint
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT created_at FROM users").scalar() == "t"
        recorded = conn.exec_driver_sql("SELECT name FROM _migrations").all()
        assert len(recorded) == len(MIGRATIONS) - 1
        assert "VARCHAR" in str(
            {c["name"]: c["type"] for c in inspect(conn).get_columns("users")}["created_at"]
        )
    engine.dispose()


def test_a_rebuilt_store_keeps_its_append_only_triggers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'press.sqlite'}"
    migrate_first(url, len(MIGRATIONS) - 1)
    fill(url)
    store = Store(url)
    with store.engine.connect() as conn:
        triggers = conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
        ).scalars()
        assert list(triggers) == [
            "review_log_no_delete",
            "review_log_no_update",
            "revisions_no_delete",
            "revisions_no_update",
        ]
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.close()


# PostgreSQL (fixtures in tests/support/postgres.py) ---------------------------------------


def test_postgresql_migrated_from_empty_is_exactly_the_schema(pg_url: str) -> None:
    migrate_first(pg_url, len(MIGRATIONS))
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        assert schema_differences(conn, schema.metadata) == []
    engine.dispose()


def test_a_new_postgresql_store_is_created_from_the_schema(pg_url: str) -> None:
    store = Store(pg_url)
    with store.engine.connect() as conn:
        assert schema_differences(conn, schema.metadata) == []
    store.close()


@pytest.mark.parametrize("k", [1, len(MIGRATIONS) - 1])
def test_a_postgresql_store_at_an_older_migration_upgrades_with_its_rows(
    pg_url: str, k: int
) -> None:
    migrate_first(pg_url, k)
    written = fill(pg_url)
    store = Store(pg_url)
    assert store.migrated == [name for name, _ in MIGRATIONS[k:]]
    assert_kept(store, written)
    store.close()
