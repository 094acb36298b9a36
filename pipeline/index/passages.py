"""The passage DB: the durable source of truth the vector and lexical indexes derive from.

Called a *DB* (:class:`PassageDB`, rows :class:`PassageRow`), not a store: in this project
"store" is the article store (:mod:`pipeline.store`, reviews and publications), a different
file with a different lifecycle. :func:`index_text` and :func:`passage_metadata` say what a
row contributes to the derived indexes (embedded/BM25 text; vector metadata and filter fields).

A SQLite file (SQLAlchemy Core) beside the Chroma folder holds every ingested file's
fingerprint, every citation's metadata and every passage's text. Each file is committed
in one transaction together with its citations and passages, so a file is either fully
recorded or not at all; the Chroma collection and the BM25 index can always be rebuilt
from here (``press index rebuild``). The corpus version is a hash over all passage ids.

The tables below are the passage DB's one schema. Opening a :class:`PassageDB` applies any
pending migration of :mod:`pipeline.index.migrations` (its own ``_migrations`` table, the
article store's runner) in one ``BEGIN IMMEDIATE`` transaction, so a column change is a
migration, not a rebuild; a DB from before versioning is adopted as it is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from pipeline.index.migrations import PASSAGE_MIGRATIONS
from pipeline.models.corpus import Citation, EvidenceLevel, Passage
from pipeline.sqlite import use_sqlite_transactions
from pipeline.store.migrations import upgrade
from pipeline.store.timestamps import UTCDateTime

_metadata = MetaData()

files_table = Table(
    "files",
    _metadata,
    Column("path", String, primary_key=True),
    Column("sha256", String, nullable=False),
    Column("citations", Integer, nullable=False),
    Column("ingested_at", UTCDateTime, nullable=False),
)
citations_table = Table(
    "citations",
    _metadata,
    Column("id", String, primary_key=True),
    Column("file", String, nullable=False, index=True),
    Column("data", Text, nullable=False),
)
passages_table = Table(
    "passages",
    _metadata,
    Column("id", String, primary_key=True),
    Column("citation_id", String, nullable=False, index=True),
    Column("file", String, nullable=False, index=True),
    Column("ordinal", Integer, nullable=False),
    Column("section", String, nullable=False),
    Column("text", Text, nullable=False),
    Column("token_count", Integer, nullable=False),
)
meta_table = Table(
    "meta",
    _metadata,
    Column("key", String, primary_key=True),
    Column("value", Text, nullable=False),
)


@dataclass(frozen=True)
class PassageRow:
    """A passage joined with its citation (one row of the passage DB, as the retriever and
    drafter need it)."""

    passage: Passage
    citation: Citation


@dataclass(frozen=True)
class FileChange:
    """What replacing one file's contents changed, in passage ids."""

    added: list[str]
    removed: list[str]
    unchanged: int


class PassageDB:
    """The SQLite passage DB: files, citations and passages."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.engine: Engine = create_engine(f"sqlite:///{path}")
        use_sqlite_transactions(self.engine, {"journal_mode": "WAL", "synchronous": "NORMAL"})
        self.migrated = upgrade(self.engine, PASSAGE_MIGRATIONS, _metadata.create_all)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def file_sha(self, path: str) -> str | None:
        """The fingerprint recorded for ``path`` at its last ingest, if any."""
        with self.engine.connect() as conn:
            row = conn.execute(select(files_table.c.sha256).where(files_table.c.path == path))
            value = row.scalar_one_or_none()
        return str(value) if value is not None else None

    def files(self) -> list[str]:
        """Paths of every ingested file."""
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(select(files_table.c.path))]

    def citation_owner(self, citation_id: str) -> str | None:
        """The file that holds ``citation_id``, if it is stored."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(citations_table.c.file).where(citations_table.c.id == citation_id)
            )
            value = row.scalar_one_or_none()
        return str(value) if value is not None else None

    def passage_ids(self, file: str | None = None) -> set[str]:
        """Ids of all passages, or of one file's passages."""
        query = select(passages_table.c.id)
        if file is not None:
            query = query.where(passages_table.c.file == file)
        with self.engine.connect() as conn:
            return {r[0] for r in conn.execute(query)}

    def replace_file(
        self, path: str, sha256: str, citations: list[Citation], passages: list[Passage]
    ) -> FileChange:
        """Atomically replace everything recorded for ``path`` with the new contents."""
        new_ids = {p.id for p in passages}
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            old_ids = {
                r[0]
                for r in conn.execute(
                    select(passages_table.c.id).where(passages_table.c.file == path)
                )
            }
            conn.execute(delete(passages_table).where(passages_table.c.file == path))
            conn.execute(delete(citations_table).where(citations_table.c.file == path))
            conn.execute(delete(files_table).where(files_table.c.path == path))
            if citations:
                conn.execute(
                    insert(citations_table),
                    [{"id": c.id, "file": path, "data": c.model_dump_json()} for c in citations],
                )
            if passages:
                conn.execute(
                    insert(passages_table),
                    [
                        {
                            "id": p.id,
                            "citation_id": p.citation_id,
                            "file": path,
                            "ordinal": p.ordinal,
                            "section": p.section,
                            "text": p.text,
                            "token_count": p.token_count,
                        }
                        for p in passages
                    ],
                )
            conn.execute(
                insert(files_table),
                [{"path": path, "sha256": sha256, "citations": len(citations), "ingested_at": now}],
            )
        return FileChange(
            added=sorted(new_ids - old_ids),
            removed=sorted(old_ids - new_ids),
            unchanged=len(new_ids & old_ids),
        )

    def remove_file(self, path: str) -> list[str]:
        """Forget ``path`` with its citations and passages; returns the removed passage ids."""
        with self.engine.begin() as conn:
            removed = sorted(
                r[0]
                for r in conn.execute(
                    select(passages_table.c.id).where(passages_table.c.file == path)
                )
            )
            conn.execute(delete(passages_table).where(passages_table.c.file == path))
            conn.execute(delete(citations_table).where(citations_table.c.file == path))
            conn.execute(delete(files_table).where(files_table.c.path == path))
        return removed

    def get(self, ids: Iterable[str]) -> dict[str, PassageRow]:
        """Passages (with their citations) by id; unknown ids are left out."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, PassageRow] = {}
        citations: dict[str, Citation] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                rows = conn.execute(
                    select(passages_table, citations_table.c.data)
                    .join(citations_table, citations_table.c.id == passages_table.c.citation_id)
                    .where(passages_table.c.id.in_(wanted[start : start + 500]))
                ).mappings()
                for row in rows:
                    cid = row["citation_id"]
                    if cid not in citations:
                        citations[cid] = Citation.model_validate_json(row["data"])
                    found[row["id"]] = PassageRow(_row_passage(row), citations[cid])
        return found

    def iter_all(self, batch: int = 2000) -> Iterator[PassageRow]:
        """Every passage with its citation, in a stable order (by passage id)."""
        citations: dict[str, Citation] = {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(passages_table, citations_table.c.data)
                .join(citations_table, citations_table.c.id == passages_table.c.citation_id)
                .order_by(passages_table.c.id)
                .execution_options(yield_per=batch)
            ).mappings()
            for row in rows:
                cid = row["citation_id"]
                if cid not in citations:
                    citations[cid] = Citation.model_validate_json(row["data"])
                yield PassageRow(_row_passage(row), citations[cid])

    def counts(self) -> dict[str, int]:
        """Numbers of files, citations and passages."""
        with self.engine.connect() as conn:
            return {
                name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for name, table in (
                    ("files", files_table),
                    ("citations", citations_table),
                    ("passages", passages_table),
                )
            }

    def corpus_version(self) -> str:
        """Hash over all passage ids (sorted): changes whenever any passage changes."""
        digest = hashlib.sha256()
        with self.engine.connect() as conn:
            for (pid,) in conn.execute(select(passages_table.c.id).order_by(passages_table.c.id)):
                digest.update(pid.encode())
                digest.update(b"\n")
        return digest.hexdigest()[:16]

    def get_meta(self, key: str) -> str | None:
        """A value from the key/value meta table."""
        with self.engine.connect() as conn:
            row = conn.execute(select(meta_table.c.value).where(meta_table.c.key == key))
            value = row.scalar_one_or_none()
        return str(value) if value is not None else None

    def setdefault_meta(self, key: str, value: str) -> str:
        """The meta value of ``key``, first storing ``value`` if there is none (atomic)."""
        with self.engine.begin() as conn:
            conn.execute(
                sqlite_insert(meta_table)
                .values(key=key, value=value)
                .on_conflict_do_nothing(index_elements=["key"])
            )
            stored = conn.execute(select(meta_table.c.value).where(meta_table.c.key == key))
            return str(stored.scalar_one())

    def set_meta(self, key: str, value: str) -> None:
        """Write a value to the key/value meta table."""
        with self.engine.begin() as conn:
            conn.execute(delete(meta_table).where(meta_table.c.key == key))
            conn.execute(insert(meta_table), [{"key": key, "value": value}])


def index_text(item: PassageRow) -> str:
    """The text that is embedded and BM25-indexed: the citation title, then the passage."""
    title = item.citation.title.strip()
    return f"{title}\n{item.passage.text}" if title else item.passage.text


def passage_metadata(item: PassageRow) -> dict[str, Any]:
    """Flat metadata stored with a vector, used for filters and for display."""
    citation = item.citation
    level = citation.evidence_level or EvidenceLevel.OTHER
    return {
        "citation_id": citation.id,
        "year": citation.year if citation.year is not None else -1,
        "evidence_level": level.value,
        "evidence_rank": level.rank,
        "source_kind": citation.source_kind.value,
        "section": item.passage.section[:200],
        "source_file": citation.source_file or "",
    }


def _row_passage(row: object) -> Passage:
    data = dict(row)  # type: ignore[call-overload]
    return Passage(
        citation_id=data["citation_id"],
        text=data["text"],
        section=data["section"],
        ordinal=data["ordinal"],
        token_count=data["token_count"],
    )
