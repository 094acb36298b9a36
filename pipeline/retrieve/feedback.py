"""Pseudo-relevance feedback: one more pass with queries moved towards the best passages.

The first pass's fused top passages expand the BM25 query with their heaviest terms and
move each dense query vector towards their mean (Rocchio); :func:`blend` then keeps part
of the first pass's score so its best answers stay on top. Kept apart from the retriever
because it is an optional, separately measured stage (``retrieval.prf_*``; numbers in
``bench/results/bioasq-*.md``) that only rewrites the sides' candidate lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from pipeline.index.lexical import LexicalIndex
from pipeline.index.vectors import VectorIndex
from pipeline.retrieve.sides import SideScores, dense_side, lexical_side, mean_vector
from pipeline.settings.corpus import RetrievalSettings


def blend(
    second: Mapping[str, float], first: Mapping[str, float], weight: float
) -> dict[str, float]:
    """The feedback pass's fused scores plus ``weight`` times the first pass's.

    Feedback lifts recall but reshuffles the very top: a passage that shares many
    expansion terms can overtake the first pass's best answer (on BioASQ hit@1 fell from
    0.85 to 0.82 with feedback alone). Keeping part of the first pass's score holds the
    top in place while the feedback pass fills the rest of the list. A passage missing
    from one pass gets that pass's lowest score. ``weight`` 0 = the feedback pass alone.
    """
    if weight <= 0 or not first:
        return dict(second)
    if not second:
        return dict(first)
    low_second, low_first = min(second.values()), min(first.values())
    return {
        pid: second.get(pid, low_second) + weight * first.get(pid, low_first)
        for pid in {**second, **first}
    }


def pseudo_relevance_feedback(
    cfg: RetrievalSettings,
    sides: dict[str, SideScores],
    first: list[str],
    lexical: LexicalIndex | None,
    terms: dict[int, float],
    mask: np.ndarray | None,
    dense_queries: dict[str, tuple[VectorIndex, np.ndarray]],
    n: int,
    where: dict[str, Any] | None,
) -> bool:
    """Pseudo-relevance feedback from the first pass's best passages; True if it ran.

    The *fused* first pass chooses the feedback passages (it is better than any one
    side, so its top passages are more often relevant). Then each side re-runs with a
    query moved towards them, Rocchio-style:

    * BM25: the ``prf_terms`` terms with the highest mean BM25 weight in the feedback
      passages are added to the query, the best at ``prf_weight`` times a query term's
      weight and the others in proportion. BioASQ questions name one entity, and the
      snippets that answer them use its synonyms and related terms (gene aliases, drug
      classes), which the expansion reaches.
    * dense (each model): the query vector plus ``prf_dense_weight`` times the mean of
      the feedback passages' stored vectors, re-normalized, searched again. It costs a
      vector fetch and one more nearest-neighbour query per model, no model call.
    """
    ran = False
    if lexical is not None and terms and cfg.prf_terms > 0 and cfg.prf_weight > 0:
        expansion = lexical.feedback_terms(first, cfg.prf_terms, exclude=terms)
        if expansion:
            expanded = dict(terms)
            for term, weight in expansion.items():
                expanded[term] = expanded.get(term, 0.0) + cfg.prf_weight * weight
            sides["lexical"] = lexical_side(lexical, expanded, mask, n)
            ran = True
    if cfg.prf_dense_weight > 0:
        for side, (vectors, vector) in dense_queries.items():
            centroid = mean_vector(vectors, first)
            if centroid is None:
                continue
            moved = vector + cfg.prf_dense_weight * centroid
            norm = float(np.linalg.norm(moved))
            if norm > 0:
                sides[side] = dense_side(vectors, moved / norm, n, where)
                dense_queries[side] = (vectors, moved / norm)  # retrieval hints use it too
                ran = True
    return ran
