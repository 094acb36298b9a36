"""The passage DB is migrated like the article store: its own history, one schema.

A passage DB written before versioning (``create_all``, no ``_migrations`` table, text
``ingested_at`` to the second) is adopted on open and upgraded with its rows kept.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, create_engine, select

from pipeline.index import passages
from pipeline.index.migrations import PASSAGE_MIGRATIONS
from pipeline.index.passages import PassageDB
from pipeline.models.corpus import Citation, Passage
from pipeline.store.migrations import migrate
from tests.store.test_migrations import schema_differences

NAMES = [name for name, _ in PASSAGE_MIGRATIONS]


def write_unversioned_db(path: Path) -> None:
    """A passage DB as builds before versioning left it (their create_all, their rows)."""
    old = MetaData()
    files = Table(
        "files",
        old,
        Column("path", String, primary_key=True),
        Column("sha256", String, nullable=False),
        Column("citations", Integer, nullable=False),
        Column("ingested_at", String, nullable=False),
    )
    citations = Table(
        "citations",
        old,
        Column("id", String, primary_key=True),
        Column("file", String, nullable=False, index=True),
        Column("data", Text, nullable=False),
    )
    passage_rows = Table(
        "passages",
        old,
        Column("id", String, primary_key=True),
        Column("citation_id", String, nullable=False, index=True),
        Column("file", String, nullable=False, index=True),
        Column("ordinal", Integer, nullable=False),
        Column("section", String, nullable=False),
        Column("text", Text, nullable=False),
        Column("token_count", Integer, nullable=False),
    )
    meta = Table(
        "meta", old, Column("key", String, primary_key=True), Column("value", Text, nullable=False)
    )
    engine = create_engine(f"sqlite:///{path}")
    old.create_all(engine)
    citation = Citation(id="pmid:1", title="A trial", source_file="a.jsonl")
    passage = Passage(citation_id="pmid:1", text="Drug X helped.", section="abstract", ordinal=0)
    with engine.begin() as conn:
        conn.execute(
            files.insert().values(
                path="a.jsonl", sha256="abc", citations=1, ingested_at="2026-01-05T09:30:00+00:00"
            )
        )
        conn.execute(
            citations.insert().values(id="pmid:1", file="a.jsonl", data=citation.model_dump_json())
        )
        conn.execute(
            passage_rows.insert().values(
                id=passage.id,
                citation_id="pmid:1",
                file="a.jsonl",
                ordinal=0,
                section="abstract",
                text=passage.text,
                token_count=passage.token_count,
            )
        )
        conn.execute(meta.insert().values(key="embedding_model", value="minilm"))
    engine.dispose()


def test_a_passage_db_migrated_step_by_step_is_exactly_its_schema(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'passages.sqlite'}")
    with engine.begin() as conn:
        assert migrate(conn, PASSAGE_MIGRATIONS) == NAMES
    with engine.connect() as conn:
        assert schema_differences(conn, passages._metadata) == []
    engine.dispose()


def test_a_new_passage_db_is_created_from_its_schema_and_stamped(tmp_path: Path) -> None:
    store = PassageDB(tmp_path / "passages.sqlite")
    assert store.migrated == NAMES
    with store.engine.connect() as conn:
        assert schema_differences(conn, passages._metadata) == []
    store.close()
    again = PassageDB(tmp_path / "passages.sqlite")
    assert again.migrated == []
    again.close()


def test_a_passage_db_from_before_versioning_is_adopted_with_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "passages.sqlite"
    write_unversioned_db(path)
    store = PassageDB(path)
    assert store.migrated == NAMES
    with store.engine.connect() as conn:
        assert schema_differences(conn, passages._metadata) == []
        ingested = conn.execute(select(passages.files_table.c.ingested_at)).scalar_one()
        recorded = conn.exec_driver_sql("SELECT name FROM _migrations ORDER BY name").scalars()
        assert list(recorded) == NAMES
    assert ingested == datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    assert store.counts() == {"files": 1, "citations": 1, "passages": 1}
    assert store.file_sha("a.jsonl") == "abc"
    assert store.get_meta("embedding_model") == "minilm"
    [found] = store.get(store.passage_ids()).values()
    assert (found.passage.text, found.citation.title) == ("Drug X helped.", "A trial")
    store.close()


def test_new_ingests_record_an_aware_utc_time(tmp_path: Path) -> None:
    store = PassageDB(tmp_path / "passages.sqlite")
    before = datetime.now(UTC)
    store.replace_file("b.jsonl", "def", [], [])
    with store.engine.connect() as conn:
        ingested = conn.execute(select(passages.files_table.c.ingested_at)).scalar_one()
    assert ingested.tzinfo is UTC and ingested >= before.replace(microsecond=0)
    store.close()
