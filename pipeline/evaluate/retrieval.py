"""Retrieval evaluation: fused, dense-only and lexical-only rankings scored against gold ids.

Design
------
* **One run, three methods.** Every question is searched with the configured
  :class:`~pipeline.retrieve.retriever.HybridRetriever` in mode ``hybrid`` (reported as ``fused``),
  ``dense`` and ``lexical``, in that order, on the same index, so the three columns of a
  report are always comparable.
* **Citation-level rankings.** A search returns passages; each is mapped to its citation
  and the first occurrence is kept (:func:`~pipeline.evaluate.metrics.first_occurrences`).
  To have enough distinct citations after collapsing, ``4 × max(k, 10)`` passages are
  fetched per query; the top ``max(k, 10)`` citations are kept, so ``recall@k``/``hit@k``
  use ``k`` and ``mrr@10``/``ndcg@10`` always look at ten.
* **Latency** is the wall clock of one ``search`` call (query embedding included), after
  one untimed warm-up query per method so model loading is not counted; p50/p95 are over
  questions.
* **Questions without gold ids** (unanswerable ones) have no ranking score: they are
  counted in ``n_unscored`` and left out of every mean.
* **Evaluation indexes** (``--corpus``, ``--compare-embeddings``) are built and reused by
  :mod:`pipeline.evaluate.indexes`.

The report model's ``model_dump()`` is the JSON format other tools script against::

    {"k": int, "n_questions": int,
     "methods": {"fused": M, "dense": M, "lexical": M}, ...extra keys}

with ``M = {"recall@k", "hit@1", "hit@k", "mrr@10", "ndcg@10", "latency_ms_p50",
"latency_ms_p95"}``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pipeline.errors import EvalSetError
from pipeline.evaluate import metrics
from pipeline.evaluate.sets import EvalQuestion
from pipeline.index.hybrid import Index
from pipeline.retrieve.retriever import HybridRetriever, Mode
from pipeline.settings.load import Settings
from pipeline.settings.report import settings_hash

__all__ = [
    "METHODS",
    "MethodMetrics",
    "MethodRanking",
    "QuestionRetrieval",
    "RetrievalMethods",
    "RetrievalReport",
    "evaluate_retrieval",
]

METHODS: tuple[tuple[str, Mode], ...] = (
    ("fused", "hybrid"),
    ("dense", "dense"),
    ("lexical", "lexical"),
)
"""Report name and retriever mode of each scored method, in the order they run."""

FETCH_FACTOR = 4
"""Passages fetched per citation slot, so enough distinct citations survive collapsing."""

ProgressFn = Callable[[int], None]


class _Aliased(BaseModel):
    """Fields named ``recall_at_k`` in Python are ``recall@k`` in JSON (dump and load)."""

    model_config = ConfigDict(
        extra="forbid", serialize_by_alias=True, validate_by_name=True, validate_by_alias=True
    )


class MethodMetrics(_Aliased):
    """The means of one method over the scored questions, plus latency percentiles."""

    recall_at_k: float = Field(alias="recall@k")
    hit_at_1: float = Field(alias="hit@1")
    hit_at_k: float = Field(alias="hit@k")
    mrr_at_10: float = Field(alias="mrr@10")
    ndcg_at_10: float = Field(alias="ndcg@10")
    latency_ms_p50: float
    latency_ms_p95: float


class RetrievalMethods(BaseModel):
    """The three scored methods."""

    model_config = ConfigDict(extra="forbid")

    fused: MethodMetrics
    dense: MethodMetrics
    lexical: MethodMetrics


class MethodRanking(_Aliased):
    """One question's citation ranking under one method, with its scores."""

    ranked: list[str] = Field(description="Citation ids, best first (max(k, 10) of them).")
    latency_ms: float
    recall_at_k: float = Field(alias="recall@k")
    hit_at_1: float = Field(alias="hit@1")
    hit_at_k: float = Field(alias="hit@k")
    mrr_at_10: float = Field(alias="mrr@10")
    ndcg_at_10: float = Field(alias="ndcg@10")


class QuestionRetrieval(BaseModel):
    """The per-question drill-down of a retrieval report."""

    model_config = ConfigDict(extra="forbid")

    id: str
    question: str
    relevant: list[str]
    methods: dict[str, MethodRanking]


class RetrievalReport(BaseModel):
    """A retrieval evaluation; ``model_dump()`` is the documented JSON report."""

    model_config = ConfigDict(extra="forbid")

    k: int
    n_questions: int = Field(description="Questions scored (those with gold ids).")
    methods: RetrievalMethods
    kind: str = "retrieval"
    set: str = ""
    corpus: str | None = None
    corpus_version: str = ""
    settings_hash: str = ""
    n_unscored: int = Field(0, description="Questions without gold ids, left out of the means.")
    seconds: float = 0.0
    per_question: list[QuestionRetrieval] = Field(default_factory=list)


def scored_questions(questions: Sequence[EvalQuestion]) -> list[EvalQuestion]:
    """The questions that have gold ids (the ones retrieval metrics are defined for)."""
    return [q for q in questions if q.relevant]


def _scores(ranked: list[str], relevant: list[str], k: int) -> dict[str, float]:
    return {
        "recall@k": metrics.recall_at_k(ranked, relevant, k),
        "hit@1": metrics.hit_at_k(ranked, relevant, 1),
        "hit@k": metrics.hit_at_k(ranked, relevant, k),
        "mrr@10": metrics.mrr_at_k(ranked, relevant, 10),
        "ndcg@10": metrics.ndcg_at_k(ranked, relevant, 10),
    }


def _aggregate(rankings: list[MethodRanking]) -> MethodMetrics:
    dumped = [r.model_dump() for r in rankings]
    means: dict[str, Any] = {
        key: metrics.mean(d[key] for d in dumped)
        for key in ("recall@k", "hit@1", "hit@k", "mrr@10", "ndcg@10")
    }
    latencies = [r.latency_ms for r in rankings]
    means["latency_ms_p50"] = round(metrics.percentile(latencies, 50) or 0.0, 3)
    means["latency_ms_p95"] = round(metrics.percentile(latencies, 95) or 0.0, 3)
    return MethodMetrics.model_validate(means)


def evaluate_retrieval(
    questions: Sequence[EvalQuestion],
    index: Index,
    settings: Settings,
    *,
    k: int = 10,
    set_name: str = "",
    corpus: str | None = None,
    progress: ProgressFn | None = None,
) -> RetrievalReport:
    """Score the fused, dense and lexical rankings of every question with gold ids."""
    if k < 1:
        raise EvalSetError(f"k must be at least 1, not {k}", "Pass --k 10 or another positive k.")
    started = time.perf_counter()
    scored = scored_questions(questions)
    if not scored:
        raise EvalSetError(
            "no question in the set has relevant ids, so retrieval cannot be scored",
            'Give questions a non-empty "relevant" list of citation ids.',
        )
    retriever = HybridRetriever(index=index, settings=settings.retrieval)
    depth = max(k, 10)
    fetch = depth * FETCH_FACTOR
    for _, mode in METHODS:  # warm-up: load models and indexes outside the timed calls
        retriever.search(scored[0].question, k=fetch, mode=mode)
    per_question: list[QuestionRetrieval] = []
    for question in scored:
        rankings: dict[str, MethodRanking] = {}
        for name, mode in METHODS:
            start = time.perf_counter()
            hits = retriever.search(question.question, k=fetch, mode=mode)
            latency = (time.perf_counter() - start) * 1000
            ranked = metrics.first_occurrences(h.citation.id for h in hits)[:depth]
            rankings[name] = MethodRanking.model_validate(
                {"ranked": ranked, "latency_ms": round(latency, 3)}
                | _scores(ranked, question.relevant, k)
            )
        per_question.append(
            QuestionRetrieval(
                id=question.id,
                question=question.question,
                relevant=list(question.relevant),
                methods=rankings,
            )
        )
        if progress:
            progress(1)
    methods = RetrievalMethods(
        **{name: _aggregate([q.methods[name] for q in per_question]) for name, _ in METHODS}
    )
    return RetrievalReport(
        k=k,
        n_questions=len(scored),
        methods=methods,
        set=set_name,
        corpus=corpus,
        corpus_version=index.passage_db.corpus_version(),
        settings_hash=settings_hash(settings),
        n_unscored=len(questions) - len(scored),
        seconds=round(time.perf_counter() - started, 3),
        per_question=per_question,
    )
