"""Fusion: several sides' rankings into one score per passage.

:func:`fuse_scores` is the method (z-scores of each side's scores, or reciprocal ranks) and
:func:`fuse_sides` applies it with the retrieval settings' weights. Score fusion is the
default because it keeps *how much* better one passage is than the next (measured on
BioASQ, see :mod:`pipeline.retrieve.retriever`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Literal

import numpy as np

from pipeline.retrieve.sides import SideScores
from pipeline.settings.corpus import RetrievalSettings


def fuse_scores(
    lists: Mapping[str, Mapping[str, float]],
    weights: Mapping[str, float],
    method: Literal["rrf", "zscore"],
    *,
    rrf_k: int = 60,
    known: Mapping[str, Callable[[str], float | None]] | None = None,
    extra: Iterable[str] = (),
) -> dict[str, float]:
    """Fuse several rankings into one score per passage (higher is better).

    ``lists`` maps a side (``dense``, ``second``, ``lexical``) to its candidates and raw
    scores (every side ranks by descending score). Sides with weight 0 are ignored.

    * ``rrf``: Σ weight / (rrf_k + rank + 1), rank counted from 0 within each side's list;
      a passage a side did not return gets nothing from it. It needs no calibration but
      throws away *how much* better one candidate is than the next.
    * ``zscore``: each side's scores are standardized by the mean and standard deviation of
      that side's own candidate list, then summed with the weights. On BioASQ snippets this
      beat rank fusion clearly: a BM25 hit on a rare drug name or a near-duplicate dense
      match stands out by many standard deviations, which a rank cannot express.
      A passage missing from a side's list gets that side's exact score when ``known[side]``
      can tell it (BM25 scores every passage, so the lexical side always can), otherwise
      the list's lowest z-score: it ranked below everything the side returned, so the
      worst returned score is the most it can have had (an optimistic but order-preserving
      guess that keeps one model's blind spot from sinking a passage the others like).

    ``extra`` passages (retrieval hints) join the pool although no list returned them; with
    ``zscore`` each side scores them through ``known`` against its own list's statistics,
    with ``rrf`` they get nothing from a list that does not hold them.
    """
    active = {side: scores for side, scores in lists.items() if weights.get(side, 0.0) > 0}
    fused: dict[str, float] = {pid: 0.0 for scores in active.values() for pid in scores}
    fused.update((pid, 0.0) for pid in extra if pid not in fused)
    if method == "rrf":
        for side, scores in active.items():
            order = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
            for rank, (pid, _) in enumerate(order):
                fused[pid] += weights[side] / (rrf_k + rank + 1)
        return fused
    for side, scores in active.items():
        if not scores:
            continue
        values = np.fromiter(scores.values(), dtype=np.float64, count=len(scores))
        mean = float(values.mean())
        spread = float(values.std()) or 1.0
        floor = (float(values.min()) - mean) / spread
        lookup = (known or {}).get(side)
        weight = weights[side]
        for pid in fused:
            raw = scores.get(pid)
            if raw is None and lookup is not None:
                raw = lookup(pid)
            z = floor if raw is None else (raw - mean) / spread
            fused[pid] += weight * z
    return fused


def fuse_sides(
    cfg: RetrievalSettings,
    sides: dict[str, SideScores],
    hints: Mapping[str, float | None] | None = None,
) -> dict[str, float]:
    """Fuse the sides with the weights and method of ``cfg`` (one side ranks by its own
    scores); ``hints`` join the pool with the scores the sides know for them."""
    hints = hints or {}
    if len(sides) == 1:  # one side (dense-only or lexical-only): its own scores rank
        ((_, only),) = sides.items()
        exact = only.exact or (lambda _pid: None)
        scored = {pid: exact(pid) for pid in hints if pid not in only.hits}
        return {**only.hits, **{pid: v for pid, v in scored.items() if v is not None}}
    weights = {
        "dense": cfg.dense_weight,
        "second": cfg.second_weight,
        "lexical": cfg.lexical_weight,
    }
    return fuse_scores(
        {side: scored.hits for side, scored in sides.items()},
        weights,
        cfg.fusion,
        rrf_k=cfg.rrf_k,
        known={side: scored.exact for side, scored in sides.items() if scored.exact},
        extra=hints,
    )
