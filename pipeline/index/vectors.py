"""The dense side of the index: one Chroma collection of passage vectors.

Chroma runs embedded (``PersistentClient`` on a folder, one machine, one writer at a time)
or as a server (``HttpClient`` to ``chroma run``), chosen by ``index.chroma_mode``. Vectors
are always computed by our own embedding backend and passed in explicitly; the collection
records the embedding model's name and dimension, and opening it with another model is a
clear error instead of silently meaningless distances.

Shared server, several writers: each host keeps its own home (passage DB, BM25, lock),
ingests its part of the corpus and reconciles Chroma against its passage DB (its source of
truth), so on a shared collection a host must only ever touch the vectors it wrote:
reconciling the whole collection would delete every other host's vectors (host B's first
ingest removed all of host A's). Each passage DB therefore has a random id (a uuid under the
meta key ``store_id``, created on first use; :attr:`pipeline.index.hybrid.Index.db_id`). A
:class:`VectorIndex` opened with that ``owner`` stamps it on every vector it writes, and its
:meth:`~VectorIndex.ids`, :meth:`~VectorIndex.count`, :meth:`~VectorIndex.delete` and
:meth:`~VectorIndex.reset` see only those vectors, so reconcile, check, rebuild and the
deletes of ingest stay within their owner. Queries still search the whole collection; a
host's retriever keeps the hits its own passage DB can resolve. Hosts should ingest disjoint
parts: a passage id two hosts both hold is owned by whichever wrote it last, and if that host
later drops it the other's next ingest embeds it again. Without an owner (the local folder,
``persistent``, the default: one home) the collection is the host's alone and every method
covers all of it, as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import ConfigError, IndexError_
from pipeline.settings.corpus import IndexSettings


@dataclass
class DenseHit:
    """One Chroma result: passage id and cosine similarity."""

    passage_id: str
    similarity: float


def _client(settings: IndexSettings, folder: Path) -> Any:
    # chromadb on first use: 1.15 s of import (measured), which every command importing
    # pipeline.index.hybrid would pay although many never open the vectors
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_mode == "http":
        return chromadb.HttpClient(
            host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
        )
    folder.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(folder), settings=chroma_settings)


def forget_client(folder: Path) -> None:
    """Drop chromadb's in-process client for ``folder``, so the next open reads the disk.

    chromadb caches one client "system" per persist directory for the life of the process,
    including one whose database failed to open; without this, a damaged folder that was
    deleted could still not be recreated in the same process (``press index rebuild``).
    """
    from chromadb.api.shared_system_client import SharedSystemClient  # see _client: 1.15 s

    SharedSystemClient._identifier_to_system.pop(str(folder), None)
    SharedSystemClient._identifier_to_refcount.pop(str(folder), None)


class VectorIndex:
    """A Chroma collection holding one vector (plus filter metadata) per passage."""

    def __init__(
        self,
        settings: IndexSettings,
        folder: Path,
        *,
        model: str,
        dimension: int,
        owner: str | None = None,
        check_model: bool = True,
    ) -> None:
        self.settings = settings
        self.owner = owner
        self.folder = folder
        self.model = model
        self.dimension = dimension
        try:
            self.client = _client(settings, folder)
            self.collection = self.client.get_or_create_collection(
                settings.collection,
                metadata={"hnsw:space": "cosine", "embedding_model": model, "dimension": dimension},
                embedding_function=None,
            )
        except Exception as exc:  # chromadb raises many unrelated types here
            where = (
                f"{settings.chroma_host}:{settings.chroma_port}"
                if settings.chroma_mode == "http"
                else str(folder)
            )
            raise IndexError_(
                f"Cannot open the Chroma index at {where}: {exc}",
                "Start the server (`chroma run --path DIR --port N`) for chroma_mode=http, or "
                "run `press index rebuild` to recreate a damaged local index from the "
                "passage database.",
            ) from exc
        stored = (self.collection.metadata or {}).get("embedding_model")
        # ``check_model=False`` is for `press index rebuild` alone: it replaces the vectors.
        if check_model and stored and stored != model:
            raise ConfigError(
                f"The index was built with embedding model {stored!r}, settings use {model!r}",
                "Switch embeddings.backend / embeddings.model back, or run `press index "
                "rebuild` to re-embed (a collection shared over http keeps its model: name "
                "another index.collection there).",
            )

    def upsert(
        self, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[dict[str, Any]]
    ) -> None:
        """Insert or replace vectors by passage id (stamped with the owner, if any)."""
        if self.owner is not None:
            metadatas = [{**m, "owner": self.owner} for m in metadatas]
        if len(ids):
            self.collection.upsert(ids=list(ids), embeddings=vectors, metadatas=list(metadatas))

    def _mine(self) -> dict[str, Any] | None:
        return {"owner": self.owner} if self.owner is not None else None

    def scoped(self, where: dict[str, Any] | None) -> dict[str, Any] | None:
        """``where`` narrowed to this writer's own vectors on a shared server.

        A host can only return passages its own store holds; without this, other hosts'
        vectors would take nearest-neighbour places and be dropped afterwards.
        """
        mine = self._mine()
        if mine is None or not where:
            return mine or where or None
        clauses = where.get("$and", [where])
        return {"$and": [*clauses, mine]}

    def delete(self, ids: Sequence[str]) -> None:
        """Remove own vectors by passage id (unknown or other owners' ids are ignored)."""
        for start in range(0, len(ids), 5000):
            self.collection.delete(ids=list(ids[start : start + 5000]), where=self._mine())

    def ids(self) -> set[str]:
        """Every passage id in the collection (only the owner's, when there is one)."""
        found: set[str] = set()
        offset, page = 0, 20000
        while True:
            got = self.collection.get(where=self._mine(), include=[], limit=page, offset=offset)
            batch = got["ids"]
            found.update(batch)
            if len(batch) < page:
                return found
            offset += page

    def count(self) -> int:
        """Number of vectors (only the owner's, when there is one)."""
        if self.owner is not None:
            return len(self.ids())
        return int(self.collection.count())

    def query(
        self, vector: np.ndarray, n: int, where: dict[str, Any] | None = None
    ) -> list[DenseHit]:
        """The ``n`` nearest passages to ``vector`` (cosine), optionally filtered."""
        total = int(self.collection.count())
        if total == 0:
            return []
        result = self.collection.query(
            query_embeddings=vector.reshape(1, -1),
            n_results=min(n, total),
            where=self.scoped(where),
            include=["distances"],
        )
        ids = result["ids"][0]
        distances = result["distances"][0] if result["distances"] else [1.0] * len(ids)
        return [DenseHit(pid, 1.0 - float(d)) for pid, d in zip(ids, distances, strict=True)]

    def reset(self) -> None:
        """Drop and recreate the collection (used by ``press index rebuild``).

        With an owner only the owner's vectors are deleted: the collection, its model and
        the other writers' vectors stay.
        """
        if self.owner is not None:
            self.collection.delete(where=self._mine())
            return
        # An absent or broken collection is exactly what is being replaced.
        with contextlib.suppress(Exception):
            self.client.delete_collection(self.settings.collection)
        self.collection = self.client.get_or_create_collection(
            self.settings.collection,
            metadata={
                "hnsw:space": "cosine",
                "embedding_model": self.model,
                "dimension": self.dimension,
            },
            embedding_function=None,
        )
