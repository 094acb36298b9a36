"""The index: passage store (truth) + Chroma vectors + BM25, kept consistent.

``Index`` opens the three parts under ``settings.index_dir`` and offers what the ingest and
retrieval stages need. Consistency rules:

* the passage store is the source of truth; Chroma and BM25 are derived from it;
* :meth:`Index.reconcile` repairs Chroma after a crash (vectors of passages the store does
  not hold are deleted, stored passages without a vector are embedded again), so a re-run
  after ``kill -9`` converges to the same ids and counts as a clean run;
* the BM25 index carries the corpus version it was built for and is rebuilt when stale;
* one writer at a time: :meth:`Index.writer_lock` is a file lock; a second writer waits
  ``index.lock_timeout_s`` and then gets :class:`~pipeline.errors.IndexBusyError`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

import numpy as np
from filelock import FileLock, Timeout
from langchain_core.embeddings import Embeddings

from pipeline.embeddings import embedding_name, make_embeddings
from pipeline.errors import IndexBusyError, IndexError_
from pipeline.index.lexical import LexicalIndex
from pipeline.index.passages import PassageStore, StoredPassage
from pipeline.index.vectors import VectorIndex
from pipeline.models import EvidenceLevel
from pipeline.settings import Settings

ProgressFn = Callable[[int], None]


def index_text(item: StoredPassage) -> str:
    """The text that is embedded and BM25-indexed: the citation title, then the passage."""
    title = item.citation.title.strip()
    return f"{title}\n{item.passage.text}" if title else item.passage.text


def passage_metadata(item: StoredPassage) -> dict[str, Any]:
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


class Index:
    """Facade over the passage store, the Chroma collection and the BM25 index."""

    def __init__(self, settings: Settings, embeddings: Embeddings | None = None) -> None:
        self.settings = settings
        self.folder = settings.index_dir
        self.folder.mkdir(parents=True, exist_ok=True)
        self._embeddings = embeddings
        self._lexical: LexicalIndex | None = None

    @cached_property
    def embeddings(self) -> Embeddings:
        """The embedding backend (built from settings unless one was passed in)."""
        return self._embeddings or make_embeddings(self.settings)

    @cached_property
    def store(self) -> PassageStore:
        """The durable passage store."""
        return PassageStore(self.folder / "passages.sqlite")

    @cached_property
    def vectors(self) -> VectorIndex:
        """The Chroma collection."""
        dimension = int(getattr(self.embeddings, "dimension", 0)) or len(
            self.embeddings.embed_query("dimension probe")
        )
        return VectorIndex(
            self.settings.index,
            self.folder / "chroma",
            model=embedding_name(self.embeddings),
            dimension=dimension,
        )

    def close(self) -> None:
        """Release database handles."""
        if "store" in self.__dict__:
            self.store.close()

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Hold the single-writer lock for the duration of the block."""
        lock = FileLock(str(self.folder / "writer.lock"))
        try:
            lock.acquire(timeout=self.settings.index.lock_timeout_s)
        except Timeout as exc:
            raise IndexBusyError(
                f"Another process is writing to the index at {self.folder}",
                "Wait for the other `press ingest` to finish, or raise "
                "PRESS_INDEX__LOCK_TIMEOUT_S to wait for it automatically.",
            ) from exc
        try:
            yield
        finally:
            lock.release()

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed texts with the configured backend, as a float32 array."""
        embed_array = getattr(self.embeddings, "embed_array", None)
        if embed_array is not None:
            return np.asarray(embed_array(texts), dtype=np.float32)
        return np.asarray(self.embeddings.embed_documents(texts), dtype=np.float32)

    def embed_and_upsert(
        self, items: Iterable[StoredPassage], progress: ProgressFn | None = None
    ) -> int:
        """Embed passages and write them to Chroma in batches; returns how many."""
        batch: list[StoredPassage] = []
        done = 0
        size = self.settings.index.embed_batch_size

        def flush() -> None:
            nonlocal done
            vectors = self.embed([index_text(i) for i in batch])
            self.vectors.upsert(
                [i.passage.id for i in batch], vectors, [passage_metadata(i) for i in batch]
            )
            done += len(batch)
            if progress:
                progress(len(batch))
            batch.clear()

        for item in items:
            batch.append(item)
            if len(batch) >= size:
                flush()
        if batch:
            flush()
        return done

    def reconcile(self, progress: ProgressFn | None = None) -> tuple[int, int]:
        """Make Chroma hold exactly the stored passages; returns (deleted, embedded)."""
        stored = self.store.passage_ids()
        indexed = self.vectors.ids()
        orphans = sorted(indexed - stored)
        missing = sorted(stored - indexed)
        self.vectors.delete(orphans)
        embedded = self.embed_and_upsert(self.store.get(missing).values(), progress)
        return len(orphans), embedded

    def lexical(self) -> LexicalIndex:
        """The BM25 index for the current corpus version (rebuilt in memory if stale)."""
        version = self.store.corpus_version()
        if self._lexical is None or self._lexical.corpus_version != version:
            loaded = LexicalIndex.load(self.folder / "bm25")
            if loaded is None or loaded.corpus_version != version:
                loaded = self._build_lexical(version)
            self._lexical = loaded
        return self._lexical

    def refresh_lexical(self) -> LexicalIndex:
        """Rebuild the BM25 index from the store and save it (call under the writer lock)."""
        version = self.store.corpus_version()
        lexical = self._build_lexical(version)
        lexical.save(self.folder / "bm25")
        self._lexical = lexical
        self.store.set_meta("corpus_version", version)
        return lexical

    def _build_lexical(self, version: str) -> LexicalIndex:
        ids: list[str] = []
        texts: list[str] = []
        fields: dict[str, list[Any]] = {"year": [], "evidence_rank": [], "source_kind": []}
        for item in self.store.iter_all():
            meta = passage_metadata(item)
            ids.append(item.passage.id)
            texts.append(index_text(item))
            for name in fields:
                fields[name].append(meta[name])
        r = self.settings.retrieval
        return LexicalIndex.build(
            ids, texts, fields, corpus_version=version, k1=r.bm25_k1, b=r.bm25_b, stemmer=r.stemmer
        )

    def rebuild(self, progress: ProgressFn | None = None) -> int:
        """Recreate the vector and lexical indexes from the passage store."""
        with self.writer_lock():
            try:
                vectors = self.vectors
            except IndexError_:
                if self.settings.index.chroma_mode != "persistent":
                    raise
                # A damaged local folder cannot be opened, let alone reset: start afresh.
                shutil.rmtree(self.folder / "chroma", ignore_errors=True)
                self.__dict__.pop("vectors", None)
                vectors = self.vectors
            vectors.reset()
            count = self.embed_and_upsert(self.store.iter_all(), progress)
            self.refresh_lexical()
        return count

    def check(self) -> dict[str, Any]:
        """Compare the three parts; raises :class:`IndexError_` when they disagree."""
        counts = self.store.counts()
        try:
            vector_count = self.vectors.count()
        except IndexError_:
            raise
        except Exception as exc:
            raise IndexError_(
                f"The vector index at {self.folder / 'chroma'} is unreadable: {exc}",
                "Run `press index rebuild` to recreate it from the passage store.",
            ) from exc
        if vector_count != counts["passages"]:
            raise IndexError_(
                f"The vector index holds {vector_count} passages, the store {counts['passages']}",
                "Run `press ingest` again (it repairs interrupted runs) or `press index rebuild`.",
            )
        return {**counts, "vectors": vector_count, "corpus_version": self.store.corpus_version()}
