"""The first stage's candidate lists: what a reranker is trained and measured on (no torch).

A cross-encoder reranker only ever sees the first ``top_k`` passages of the fused
retriever, so it is trained on exactly that distribution: for each training question the
configured retriever (:class:`pipeline.retrieve.HybridRetriever`, with whatever
``retrieval`` settings are active, e.g. a trained ``query_model``) returns its ranked
passages; the gold ones among them are positives and the non-gold ones *hard negatives* —
passages the current retriever ranks high but that do not answer the question. Questions
with no gold passage among their candidates teach nothing and are counted, not used.

:func:`ranking_metrics` is the citation-level recall@10 / hit@1 / MRR@10 of the BioASQ
benchmark (``|gold ∩ top10| / min(|gold|, 10)``), used to choose the epoch on held-out
training questions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pipeline.evaluate.metrics import first_occurrences, hit_at_k, mrr_at_k, recall_at_k
from pipeline.retrieve.retriever import HybridRetriever
from pipeline.train.data import TrainingQuestion

if TYPE_CHECKING:
    from pipeline.index.hybrid import Index
    from pipeline.settings.corpus import RetrievalSettings
TOP = 10


@dataclass(frozen=True)
class Candidate:
    """One retrieved passage: ids, text and the first stage's fused score."""

    passage_id: str
    citation_id: str
    text: str
    score: float


def mine_candidates(
    index: Index,
    settings: RetrievalSettings,
    questions: Sequence[TrainingQuestion],
    depth: int,
    progress: Callable[[int, int, str], None] | None = None,
) -> dict[str, list[Candidate]]:
    """The retriever's first ``depth`` passages for every question (id -> candidates)."""
    plain = settings.model_copy(update={"rerank_model": None})
    retriever = HybridRetriever(index=index, settings=plain)
    found: dict[str, list[Candidate]] = {}
    for done, question in enumerate(questions, start=1):
        hits = retriever.search(question.text, k=depth)
        found[question.id] = [
            Candidate(h.passage.id, h.citation.id, h.passage.text, float(h.score)) for h in hits
        ]
        if progress is not None:
            progress(done, len(questions), "mining candidates")
    return found


def ranking_metrics(
    rankings: Sequence[Sequence[str]], golds: Sequence[frozenset[str]]
) -> dict[str, float]:
    """Mean citation-level recall@10, hit@1 and MRR@10 of ranked citation-id lists.

    Each list counts a citation once, at its best position (several passages of one source
    are one answer), scored by :mod:`pipeline.evaluate.metrics` like every other ranking.
    """
    if not rankings:
        return {"recall@10": 0.0, "hit@1": 0.0, "mrr@10": 0.0}
    recall, hit1, mrr = [], [], []
    for ranked, gold in zip(rankings, golds, strict=True):
        top = first_occurrences(ranked)[:TOP]
        recall.append(recall_at_k(top, gold, TOP))
        hit1.append(hit_at_k(top, gold, 1))
        mrr.append(mrr_at_k(top, gold, TOP))
    return {
        "recall@10": round(float(np.mean(recall)), 4),
        "hit@1": round(float(np.mean(hit1)), 4),
        "mrr@10": round(float(np.mean(mrr)), 4),
    }
