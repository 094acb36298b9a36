"""The hybrid index: passage DB (truth) + Chroma vectors + BM25, kept consistent.

``Index`` (the one index dense and lexical search both run over, hence the module's name;
each part has a module of its own) opens the three parts under ``settings.index_dir`` and
offers what the ingest and retrieval stages need. Consistency rules:

* the passage DB is the source of truth; Chroma and BM25 are derived from it;
* :meth:`Index.reconcile` repairs Chroma after a crash (vectors of passages the DB does
  not hold are deleted, stored passages without a vector are embedded again), so a re-run
  after ``kill -9`` converges to the same ids and counts as a clean run;
* the BM25 index carries the corpus version it was built for and is rebuilt when stale;
* one writer at a time: :meth:`Index.writer_lock` is a file lock; a second writer waits
  ``index.lock_timeout_s`` and then gets :class:`~pipeline.errors.IndexBusyError`;
* BM25 parameters (k1, b, stemmer) are baked into the BM25 index, so an index built with
  other values than the settings' is rebuilt in memory (and saved when no writer is busy).

Optional second embedding model (``retrieval.second_model``, e.g. ``"e5-small"``): its
vectors live in a second Chroma collection ``<index.collection>_<model>`` beside the
first and follow the same rules: every ingest embeds new passages into both, and
:meth:`Index.reconcile` (run at the start of each ingest) deletes orphans and embeds what
is missing, so switching the model on for an existing index fills the collection on the
next ``press ingest`` without re-embedding the first model's vectors. Ingest then costs
the second model's time on top: for the 20,774 BioASQ snippets MiniLM's ingest took
1,612 s and adding e5-small's vectors 2,388 s more (shared 2-core machine, load 4-6), so
ingest takes ~2.5x as long with e5 on. With the setting off nothing of it is created,
loaded or embedded.

Several hosts can share one Chroma server (``index.chroma_mode = "http"``): each host's
vectors carry its :attr:`Index.db_id` as ``owner`` (see :mod:`pipeline.index.vectors`).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

import numpy as np
from filelock import FileLock, Timeout
from langchain_core.embeddings import Embeddings

from pipeline.errors import IndexBusyError, IndexError_
from pipeline.index.embeddings import (
    embedding_name,
    make_embeddings,
    make_query_embeddings,
    make_second_embeddings,
)
from pipeline.index.lexical import LexicalIndex
from pipeline.index.passages import PassageDB, PassageRow, index_text, passage_metadata
from pipeline.index.vectors import VectorIndex, forget_client
from pipeline.settings.load import Settings

ProgressFn = Callable[[int], None]


class Index:
    """Facade over the passage DB, the Chroma collection and the BM25 index."""

    def __init__(
        self,
        settings: Settings,
        embeddings: Embeddings | None = None,
        *,
        second_embeddings: Embeddings | None = None,
    ) -> None:
        self.settings = settings
        self.folder = settings.index_dir
        self.folder.mkdir(parents=True, exist_ok=True)
        self._embeddings = embeddings
        self._second_embeddings = second_embeddings
        # BM25 indexes by (k1, b, stemmer); normally just the settings' one.
        self._lexicals: dict[tuple[float, float, str], LexicalIndex] = {}
        # Trained query encoders (retrieval.query_model) by name, loaded on first use.
        self._query_encoders: dict[str, Embeddings] = {}

    @cached_property
    def embeddings(self) -> Embeddings:
        """The embedding backend (built from settings unless one was passed in)."""
        return self._embeddings or make_embeddings(self.settings)

    @cached_property
    def second_embeddings(self) -> Embeddings | None:
        """The optional second embedding model (``retrieval.second_model``), else ``None``.

        One passed to the constructor is used when the setting is on (tests, benchmarks).
        """
        if self.settings.retrieval.second_model is None:
            return None
        return self._second_embeddings or make_second_embeddings(self.settings)

    @cached_property
    def second_vectors(self) -> VectorIndex | None:
        """The Chroma collection of the second model's vectors, else ``None``."""
        embeddings = self.second_embeddings
        choice = self.settings.retrieval.second_model
        if embeddings is None or choice is None:
            return None
        collection = f"{self.settings.index.collection}_{choice}"
        return VectorIndex(
            self.settings.index.model_copy(update={"collection": collection}),
            self.folder / "chroma",
            model=embedding_name(embeddings),
            dimension=int(getattr(embeddings, "dimension", 0))
            or len(embeddings.embed_query("dimension probe")),
            owner=self.vector_owner,
        )

    @cached_property
    def passage_db(self) -> PassageDB:
        """The durable passage DB."""
        return PassageDB(self.folder / "passages.sqlite")

    @cached_property
    def db_id(self) -> str:
        """This passage DB's random, permanent id (meta key ``store_id``, kept for old DBs)."""
        return self.passage_db.setdefault_meta("store_id", uuid.uuid4().hex)

    @property
    def vector_owner(self) -> str | None:
        """The ``owner`` stamped on this host's vectors on a shared server, else ``None``."""
        return self.db_id if self.settings.index.chroma_mode == "http" else None

    @cached_property
    def vectors(self) -> VectorIndex:
        """The Chroma collection (refused when it holds another embedding model's vectors)."""
        return self._open_vectors(check_model=True)

    def _open_vectors(self, *, check_model: bool) -> VectorIndex:
        dimension = int(getattr(self.embeddings, "dimension", 0)) or len(
            self.embeddings.embed_query("dimension probe")
        )
        return VectorIndex(
            self.settings.index,
            self.folder / "chroma",
            model=embedding_name(self.embeddings),
            dimension=dimension,
            owner=self.vector_owner,
            check_model=check_model,
        )

    def close(self) -> None:
        """Release database handles."""
        if "passage_db" in self.__dict__:
            self.passage_db.close()

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

    def embed_query(self, texts: list[str], query_model: str | None = None) -> np.ndarray:
        """Embed questions: with the trained query encoder ``query_model``, else as passages.

        A trained encoder (``press train``) maps questions into the space of this index's
        passage vectors, so only the question side changes and nothing is re-embedded.
        """
        if query_model is None:
            return self.embed(texts)
        encoder = self._query_encoders.get(query_model)
        if encoder is None:
            settings = self.settings.model_copy(
                update={
                    "retrieval": self.settings.retrieval.model_copy(
                        update={"query_model": query_model}
                    )
                }
            )
            encoder = make_query_embeddings(settings, embedding_name(self.embeddings))
            self._query_encoders[query_model] = encoder
        return np.asarray(encoder.embed_array(texts), dtype=np.float32)  # type: ignore[attr-defined]

    def embed_second(self, texts: list[str], *, query: bool = False) -> np.ndarray:
        """Embed with the second model: passages, or questions with ``query=True``.

        Asymmetric models (e5) embed questions differently from passages, hence the flag.
        """
        model = self.second_embeddings
        if model is None:
            raise IndexError_(
                "No second embedding model is configured",
                "Set retrieval.second_model (e.g. PRESS_RETRIEVAL__SECOND_MODEL=e5-small).",
            )
        method = getattr(model, "embed_query_array" if query else "embed_array", None)
        if method is not None:
            return np.asarray(method(texts), dtype=np.float32)
        if query:
            return np.asarray([model.embed_query(t) for t in texts], dtype=np.float32)
        return np.asarray(model.embed_documents(texts), dtype=np.float32)

    def embed_and_upsert(
        self,
        items: Iterable[PassageRow],
        progress: ProgressFn | None = None,
        *,
        primary: bool = True,
        second: bool = True,
    ) -> int:
        """Embed passages and write them to Chroma in batches; returns how many.

        Each batch goes to the first model's collection and, when a second model is
        configured, to its collection too (``primary`` / ``second`` pick the sides).
        """
        batch: list[PassageRow] = []
        done = 0
        size = self.settings.index.embed_batch_size
        second_vectors = self.second_vectors if second else None

        def flush() -> None:
            nonlocal done
            texts = [index_text(i) for i in batch]
            ids = [i.passage.id for i in batch]
            metadatas = [passage_metadata(i) for i in batch]
            if primary:
                self.vectors.upsert(ids, self.embed(texts), metadatas)
            if second_vectors is not None:
                second_vectors.upsert(ids, self.embed_second(texts), metadatas)
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
        stored = self.passage_db.passage_ids()
        indexed = self.vectors.ids()
        orphans = sorted(indexed - stored)
        missing = sorted(stored - indexed)
        self.vectors.delete(orphans)
        rows = self.passage_db.get(missing).values()
        embedded = self.embed_and_upsert(rows, progress, second=False)
        self.reconcile_second(stored, progress)
        return len(orphans), embedded

    def reconcile_second(
        self, stored: set[str] | None = None, progress: ProgressFn | None = None
    ) -> tuple[int, int]:
        """Make the second model's collection hold exactly the stored passages.

        Returns (deleted, embedded); (0, 0) when no second model is configured. Called by
        :meth:`reconcile` and after BM25 refreshes, so vectors of passages an ingest
        removed do not linger there either.
        """
        second_vectors = self.second_vectors
        if second_vectors is None:
            return 0, 0
        stored = self.passage_db.passage_ids() if stored is None else stored
        indexed = second_vectors.ids()
        orphans = sorted(indexed - stored)
        missing = sorted(stored - indexed)
        second_vectors.delete(orphans)
        rows = self.passage_db.get(missing).values()
        embedded = self.embed_and_upsert(rows, progress, primary=False)
        return len(orphans), embedded

    def lexical(
        self, *, k1: float | None = None, b: float | None = None, stemmer: str | None = None
    ) -> LexicalIndex:
        """The BM25 index for the current corpus version and BM25 parameters.

        The parameters default to ``retrieval.bm25_k1`` / ``bm25_b`` / ``stemmer``; a
        retriever with its own settings passes its values. BM25 bakes k1 and b into its
        score matrix, so an index built with other values is rebuilt in memory (a few
        seconds for 20k passages) and, when the values are the settings' own and no
        writer holds the lock, saved so the next process loads it instead.

        Staleness is judged by the corpus version that the last ingest recorded (one row
        of the passage DB's meta table) rather than by re-hashing every passage id: on 20k
        passages the hash took 40-170 ms, longer than the whole rest of a query. Every
        ingest that changes the corpus records the new version when it finishes (it saves
        the matching BM25 index at the same moment), so a reader uses the BM25 index of the
        last completed ingest, exactly like the vectors it sees; the full hash is the
        fallback for a DB that has no recorded version.
        """
        r = self.settings.retrieval
        wanted = (
            r.bm25_k1 if k1 is None else k1,
            r.bm25_b if b is None else b,
            r.stemmer if stemmer is None else stemmer,
        )
        version = self.passage_db.get_meta("corpus_version") or self.passage_db.corpus_version()
        current = self._lexicals.get(wanted)
        if current is not None and current.corpus_version == version:
            return current
        loaded = LexicalIndex.load(self.folder / "bm25")
        if loaded is None or loaded.corpus_version != version:
            loaded = self._build_lexical(version, *wanted)
        elif not loaded.matches(k1=wanted[0], b=wanted[1], stemmer=wanted[2]):
            loaded = self._build_lexical(version, *wanted)
            if wanted == (r.bm25_k1, r.bm25_b, r.stemmer):
                self._save_lexical_if_idle(loaded)
        self._lexicals = {
            key: value for key, value in self._lexicals.items() if value.corpus_version == version
        }
        self._lexicals[wanted] = loaded
        return loaded

    def _save_lexical_if_idle(self, lexical: LexicalIndex) -> None:
        lock = FileLock(str(self.folder / "writer.lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return  # a writer is busy; it saves a fresh index when it finishes
        try:
            if self.passage_db.get_meta("corpus_version") == lexical.corpus_version:
                lexical.save(self.folder / "bm25")
        finally:
            lock.release()

    def refresh_lexical(self) -> LexicalIndex:
        """Rebuild the BM25 index from the passage DB and save it (call under the writer lock)."""
        version = self.passage_db.corpus_version()
        lexical = self._build_lexical(version)
        lexical.save(self.folder / "bm25")
        self._lexicals = {(lexical.k1, lexical.b, lexical.stemmer): lexical}
        self.passage_db.set_meta("corpus_version", version)
        self.reconcile_second()
        return lexical

    def _build_lexical(
        self,
        version: str,
        k1: float | None = None,
        b: float | None = None,
        stemmer: str | None = None,
    ) -> LexicalIndex:
        r = self.settings.retrieval
        return LexicalIndex.from_rows(
            self.passage_db.iter_all(),
            corpus_version=version,
            k1=r.bm25_k1 if k1 is None else k1,
            b=r.bm25_b if b is None else b,
            stemmer=r.stemmer if stemmer is None else stemmer,
        )

    def rebuild(self, progress: ProgressFn | None = None) -> int:
        """Recreate the vector and lexical indexes from the passage DB.

        This is also how the index changes embedding model (``embeddings.backend`` or a
        trained ``embeddings.model``): the collection is opened without the model check
        and re-created under the configured model. A collection shared with other hosts
        (``chroma_mode=http``) keeps its model, so there a change is refused.
        """
        with self.writer_lock():
            try:
                vectors = self._open_vectors(check_model=self.vector_owner is not None)
            except IndexError_:
                if self.settings.index.chroma_mode != "persistent":
                    raise
                # A damaged local folder cannot be opened, let alone reset: start afresh.
                shutil.rmtree(self.folder / "chroma", ignore_errors=True)
                forget_client(self.folder / "chroma")
                vectors = self._open_vectors(check_model=False)
            self.__dict__["vectors"] = vectors
            vectors.reset()
            if self.second_vectors is not None:
                self.second_vectors.reset()
            count = self.embed_and_upsert(self.passage_db.iter_all(), progress)
            self.refresh_lexical()
        return count

    def check(self) -> dict[str, Any]:
        """Compare the three parts; raises :class:`IndexError_` when they disagree."""
        counts = self.passage_db.counts()
        try:
            vector_count = self.vectors.count()
        except IndexError_:
            raise
        except Exception as exc:
            raise IndexError_(
                f"The vector index at {self.folder / 'chroma'} is unreadable: {exc}",
                "Run `press index rebuild` to recreate it from the passage database.",
            ) from exc
        if vector_count != counts["passages"]:
            raise IndexError_(
                f"The vector index holds {vector_count} passages, the store {counts['passages']}",
                "Run `press ingest` again (it repairs interrupted runs) or `press index rebuild`.",
            )
        version = self.passage_db.corpus_version()
        return {**counts, "vectors": vector_count, "corpus_version": version}
