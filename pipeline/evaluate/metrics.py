"""Ranking metrics and small statistics, as pure functions.

Design
------
Every function takes a ranked list of ids (best first) and the set of gold ids and returns
one number, so each metric has a hand-checkable unit test and the harness can compute them
for any ranking (citations, passages, snippets). Relevance is binary: an id is relevant or
it is not. The conventions, stated once:

* ``ranked`` may hold duplicates; callers collapse passages to citations first
  (:func:`first_occurrences`), and the metrics count a repeated relevant id only once.
* ``recall@k`` divides the relevant ids found in the top ``k`` by ``min(|gold|, k)``, the
  most that *can* be found in ``k`` slots, so a perfect ranking scores 1.0 even when a
  question has more gold ids than ``k`` (BioASQ questions often do). This is the convention
  of the BioASQ baseline quoted in ``../shared/data/README.md``; the uncapped variant
  (divide by ``|gold|``) is :func:`recall_at_k` with ``capped=False``.
* ``hit@k`` is 1.0 when any relevant id is in the top ``k``; ``hit@1`` is ``hit@k`` at 1.
* ``MRR@k`` is ``1 / rank`` of the first relevant id within the top ``k`` (0.0 if none).
* ``nDCG@k`` uses gain 1 for a relevant id at 1-based rank ``r`` discounted by
  ``log2(r + 1)``, divided by the DCG of the ideal ranking (``min(|gold|, k)`` relevant
  ids first).
* A question without gold ids has no defined score; callers leave it out of the means
  (every function here raises ``ValueError`` rather than guessing).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

__all__ = [
    "dcg_at_k",
    "first_occurrences",
    "hit_at_k",
    "mean",
    "mrr_at_k",
    "ndcg_at_k",
    "percentile",
    "recall_at_k",
]


def _gold(relevant: Iterable[str]) -> set[str]:
    gold = set(relevant)
    if not gold:
        raise ValueError("a question without relevant ids has no ranking score")
    return gold


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")


def first_occurrences(ids: Iterable[str]) -> list[str]:
    """``ids`` with repeats removed, keeping each id at its first (best) position."""
    seen: set[str] = set()
    out: list[str] = []
    for item in ids:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def recall_at_k(
    ranked: Sequence[str], relevant: Iterable[str], k: int, *, capped: bool = True
) -> float:
    """Share of the gold ids found in the top ``k``; capped at ``min(|gold|, k)`` by default."""
    _check_k(k)
    gold = _gold(relevant)
    found = len(gold.intersection(ranked[:k]))
    return found / (min(len(gold), k) if capped else len(gold))


def hit_at_k(ranked: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """1.0 when at least one gold id is among the top ``k``, else 0.0."""
    _check_k(k)
    gold = _gold(relevant)
    return 1.0 if any(item in gold for item in ranked[:k]) else 0.0


def mrr_at_k(ranked: Sequence[str], relevant: Iterable[str], k: int = 10) -> float:
    """Reciprocal rank (1-based) of the first gold id within the top ``k``; 0.0 if none."""
    _check_k(k)
    gold = _gold(relevant)
    for rank, item in enumerate(ranked[:k], start=1):
        if item in gold:
            return 1.0 / rank
    return 0.0


def dcg_at_k(gains: Sequence[float], k: int) -> float:
    """Discounted cumulative gain of the first ``k`` gains: sum of ``g / log2(rank + 1)``."""
    _check_k(k)
    return sum(g / math.log2(rank + 1) for rank, g in enumerate(gains[:k], start=1))


def ndcg_at_k(ranked: Sequence[str], relevant: Iterable[str], k: int = 10) -> float:
    """Binary-relevance nDCG of the top ``k`` (each gold id counts once)."""
    _check_k(k)
    gold = _gold(relevant)
    seen: set[str] = set()
    gains: list[float] = []
    for item in ranked[:k]:
        gains.append(1.0 if item in gold and item not in seen else 0.0)
        seen.add(item)
    ideal = dcg_at_k([1.0] * min(len(gold), k), k)
    return dcg_at_k(gains, k) / ideal


def mean(values: Iterable[float]) -> float | None:
    """Arithmetic mean, or ``None`` for no values (a metric that does not apply)."""
    items = list(values)
    return sum(items) / len(items) if items else None


def percentile(values: Iterable[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) with linear interpolation, as ``numpy.percentile``.

    ``None`` for no values.
    """
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile must be within 0-100, not {q}")
    items = sorted(values)
    if not items:
        return None
    position = (len(items) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(items) - 1)
    return items[low] + (items[high] - items[low]) * (position - low)
