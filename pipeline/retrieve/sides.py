"""The search sides: each one's candidate list and exact scores, and retrieval hints.

A *side* is one way of ranking the corpus: the first embedding model (``dense``), the
optional second one (``second``), BM25 (``lexical``). Each returns its ``candidates`` best
passages with raw scores (:class:`SideScores`) and, where it can, a lookup of the exact score
of any other passage (BM25 scores every passage; a dense side learns the cosines of the
hint passages). Fusion (:mod:`pipeline.retrieve.fusion`) and feedback
(:mod:`pipeline.retrieve.feedback`) only see sides, so adding one is local to this module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline.index.lexical import LexicalIndex
from pipeline.index.vectors import VectorIndex


@dataclass
class SideScores:
    """One side's result for a query: its candidate list and, for BM25, every score."""

    hits: dict[str, float] = field(default_factory=dict)
    exact: Callable[[str], float | None] | None = None


def dense_side(
    vectors: VectorIndex, vector: np.ndarray, n: int, where: dict[str, Any] | None
) -> SideScores:
    """The ``n`` nearest passages by cosine similarity, as one side's candidates.

    Queries the Chroma collection directly rather than through :meth:`VectorIndex.query`,
    which first counts the collection to cap ``n``: that count cost ~3 ms per call on a
    20k index (measured; a search makes two or three dense calls), and Chroma (1.x) already
    returns fewer results when fewer exist. Any other failure falls back to the wrapper.
    """
    try:
        result = vectors.collection.query(
            query_embeddings=vector.reshape(1, -1),
            n_results=n,
            where=vectors.scoped(where),
            include=["distances"],
        )
        ids = result["ids"][0]
        distances = result["distances"][0] if result["distances"] else [1.0] * len(ids)
        return SideScores({pid: 1.0 - float(d) for pid, d in zip(ids, distances, strict=True)})
    except Exception:  # chromadb raises assorted types; the wrapper has the error handling
        return SideScores({h.passage_id: h.similarity for h in vectors.query(vector, n, where)})


def mean_vector(vectors: VectorIndex, passage_ids: list[str]) -> np.ndarray | None:
    """Mean of the stored vectors of ``passage_ids`` (None when none is stored)."""
    if not passage_ids:
        return None
    got = vectors.collection.get(ids=passage_ids, include=["embeddings"])
    stored = got.get("embeddings")
    if stored is None or len(stored) == 0:
        return None
    return np.asarray(stored, dtype=np.float32).mean(axis=0)  # type: ignore[no-any-return]


def lexical_side(
    lexical: LexicalIndex, terms: dict[int, float], mask: np.ndarray | None, n: int
) -> SideScores:
    """BM25's ``n`` best passages for weighted query ``terms`` (under ``mask``), as one side;
    its exact-score lookup answers for every passage, listed or not."""
    if not terms:
        return SideScores()
    scores = lexical.scores(terms, mask)
    hits = {hit.passage_id: hit.score for hit in lexical.top(scores, n)}
    rows = lexical.row_of

    def exact(pid: str) -> float | None:
        row = rows(pid)
        return None if row is None else float(scores[row])

    return SideScores(hits, exact)


def score_hints(
    min_relevance: float,
    sides: dict[str, SideScores],
    hint_ids: Sequence[str],
    dense_queries: dict[str, tuple[VectorIndex, np.ndarray]],
    where: dict[str, Any] | None,
) -> dict[str, float | None]:
    """Let every side score the hint passages; returns the admitted hints.

    A large corpus can push a relevant hint below every side's candidate cut. Here each
    dense side learns the hints' true cosines (stored vectors, same ``where`` filter) as
    its exact-score lookup, as BM25 already knows every passage's score; fusion then
    scores them against each list's own statistics (the lists are not changed), so a
    hint never outranks the passages the lists hold on their merits; it fills the places
    they leave (e.g. after the per-citation cap). Admitted: the hints that pass the
    filters and are on topic — dense similarity to the question at least
    ``min_relevance`` (the bar for sufficient evidence), or a positive BM25 score without
    a dense side — mapped to that similarity (``None`` without a dense side).
    """
    ids = list(dict.fromkeys(hint_ids))
    if not ids:
        return {}
    admitted: dict[str, float | None] = {}
    for side, (vectors, vector) in dense_queries.items():
        got = vectors.collection.get(ids=ids, where=where or None, include=["embeddings"])
        stored = got.get("embeddings")
        found = list(got["ids"]) if stored is not None and len(stored) else []
        cosines: dict[str, float] = {}
        if found:
            matrix = np.asarray(stored, dtype=np.float64)
            norms = np.linalg.norm(matrix, axis=1) * (float(np.linalg.norm(vector)) or 1.0)
            values = matrix @ np.asarray(vector, dtype=np.float64) / np.where(norms, norms, 1)
            cosines = dict(zip(found, map(float, values), strict=True))
        sides[side].exact = cosines.get
        if side == "dense":
            floor = min_relevance
            admitted.update((pid, c) for pid, c in cosines.items() if c >= floor)
    lexical = sides.get("lexical")
    if not dense_queries and lexical is not None and lexical.exact is not None:
        admitted.update((pid, None) for pid in ids if (lexical.exact(pid) or 0.0) > 0)
    return admitted
