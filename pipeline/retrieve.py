"""Hybrid retrieval: dense (Chroma) + lexical (stemmed BM25), fused, filtered, diversified, packed.

``HybridRetriever`` is a LangChain ``BaseRetriever`` so it composes into LCEL chains; its
own methods return typed models:

* :meth:`HybridRetriever.search` ranks passages: each side returns ``retrieval.candidates``
  hits under the same metadata filters (Chroma ``where`` / a BM25 weight mask), the lists
  are fused by reciprocal rank (``rrf``) or by z-normalized scores (``zscore``), and at most
  ``per_citation_cap`` passages per citation are kept so one long document cannot crowd out
  the others;
* :meth:`HybridRetriever.evidence` groups the ranking by citation, numbers the sources
  1..n and packs passages into ``token_budget`` tokens (tiktoken); it marks the set
  insufficient when the best dense similarity is below ``min_relevance``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from pipeline.errors import RetrievalError
from pipeline.index import Index
from pipeline.models import (
    Evidence,
    EvidenceLevel,
    EvidenceSet,
    ScoredPassage,
    SearchFilters,
)
from pipeline.settings import RetrievalSettings

Mode = Literal["hybrid", "dense", "lexical"]


@dataclass
class _Candidate:
    passage_id: str
    dense: float | None = None
    lexical: float | None = None
    fused: float = 0.0
    ranks: dict[str, int] = field(default_factory=dict)


def chroma_where(filters: SearchFilters) -> dict[str, Any] | None:
    """Translate filters into a Chroma ``where`` clause."""
    clauses: list[dict[str, Any]] = []
    if filters.year_from is not None:
        clauses.append({"year": {"$gte": filters.year_from}})
    if filters.year_to is not None:
        clauses.append({"year": {"$lte": filters.year_to}})
    if filters.min_level is not None:
        clauses.append({"evidence_rank": {"$lte": filters.min_level.rank}})
    if filters.source_kinds:
        clauses.append({"source_kind": {"$in": [k.value for k in filters.source_kinds]}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def lexical_mask(fields: dict[str, np.ndarray], filters: SearchFilters) -> np.ndarray | None:
    """The same filters as a boolean mask over the BM25 index's passages."""
    if chroma_where(filters) is None or "year" not in fields:
        return None
    mask = np.ones(len(fields["year"]), dtype=bool)
    if filters.year_from is not None:
        mask &= fields["year"] >= filters.year_from
    if filters.year_to is not None:
        mask &= (fields["year"] <= filters.year_to) & (fields["year"] >= 0)
    if filters.min_level is not None:
        mask &= fields["evidence_rank"] <= filters.min_level.rank
    if filters.source_kinds:
        mask &= np.isin(fields["source_kind"], [k.value for k in filters.source_kinds])
    return mask


def _zscores(values: dict[str, float]) -> dict[str, float]:
    scores = np.array(list(values.values()), dtype=np.float64)
    spread = float(scores.std()) or 1.0
    return {k: (v - float(scores.mean())) / spread for k, v in values.items()}


class HybridRetriever(BaseRetriever):
    """Dense + BM25 retrieval over an :class:`~pipeline.index.Index` (a LangChain retriever)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: Index
    settings: RetrievalSettings
    mode: Mode = "hybrid"
    filters: SearchFilters = SearchFilters()
    last_timings: dict[str, float] = Field(default_factory=dict)

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: SearchFilters | None = None,
        mode: Mode | None = None,
    ) -> list[ScoredPassage]:
        """The ``k`` best passages for ``query`` (after fusion and the per-citation cap)."""
        if not query.strip():
            raise RetrievalError("The query is empty", "Pass a question or search terms.")
        mode = mode or self.mode
        filters = filters or self.filters
        k = k or self.settings.k
        timings: dict[str, float] = {}
        candidates: dict[str, _Candidate] = {}
        n = max(self.settings.candidates, k)
        if mode in ("hybrid", "dense"):
            start = time.perf_counter()
            vector = self.index.embed([query])[0]
            timings["embed_ms"] = (time.perf_counter() - start) * 1000
            start = time.perf_counter()
            for rank, hit in enumerate(self.index.vectors.query(vector, n, chroma_where(filters))):
                cand = candidates.setdefault(hit.passage_id, _Candidate(hit.passage_id))
                cand.dense, cand.ranks["dense"] = hit.similarity, rank
            timings["dense_ms"] = (time.perf_counter() - start) * 1000
        if mode in ("hybrid", "lexical"):
            start = time.perf_counter()
            lexical = self.index.lexical()
            for rank, lhit in enumerate(
                lexical.search(query, n, lexical_mask(lexical.fields, filters))
            ):
                cand = candidates.setdefault(lhit.passage_id, _Candidate(lhit.passage_id))
                cand.lexical, cand.ranks["lexical"] = lhit.score, rank
            timings["lexical_ms"] = (time.perf_counter() - start) * 1000
        self._fuse(candidates, mode)
        ranked = sorted(candidates.values(), key=lambda c: (-c.fused, c.passage_id))
        stored = self.index.store.get(c.passage_id for c in ranked)
        per_citation: dict[str, int] = {}
        results: list[ScoredPassage] = []
        for cand in ranked:
            item = stored.get(cand.passage_id)
            if item is None:  # vector without a stored passage: repaired by the next ingest
                continue
            cid = item.citation.id
            if per_citation.get(cid, 0) >= self.settings.per_citation_cap:
                continue
            per_citation[cid] = per_citation.get(cid, 0) + 1
            results.append(
                ScoredPassage(
                    passage=item.passage,
                    citation=item.citation,
                    score=cand.fused,
                    dense_similarity=cand.dense,
                    lexical_score=cand.lexical,
                )
            )
            if len(results) >= k:
                break
        self.last_timings = timings
        return results

    def _fuse(self, candidates: dict[str, _Candidate], mode: Mode) -> None:
        weights = {"dense": self.settings.dense_weight, "lexical": self.settings.lexical_weight}
        if mode != "hybrid":
            for cand in candidates.values():
                value = cand.dense if mode == "dense" else cand.lexical
                cand.fused = float(value or 0.0)
            return
        if self.settings.fusion == "rrf":
            for cand in candidates.values():
                cand.fused = sum(
                    weights[side] / (self.settings.rrf_k + rank + 1)
                    for side, rank in cand.ranks.items()
                )
            return
        for side in ("dense", "lexical"):
            raw = {
                c.passage_id: float(getattr(c, side))
                for c in candidates.values()
                if getattr(c, side) is not None
            }
            if not raw:
                continue
            z = _zscores(raw)
            floor = min(z.values())
            for cand in candidates.values():
                cand.fused += weights[side] * z.get(cand.passage_id, floor)

    def evidence(
        self,
        question: str,
        k: int | None = None,
        filters: SearchFilters | None = None,
        token_budget: int | None = None,
    ) -> EvidenceSet:
        """Numbered evidence for ``question``, packed into the token budget."""
        k = k or self.settings.k
        budget = token_budget or self.settings.token_budget
        ranked = self.search(
            question, k=max(k * self.settings.per_citation_cap, k), filters=filters
        )
        items: dict[str, Evidence] = {}
        used = 0
        for scored in ranked:
            cost = scored.passage.token_count or 1
            if used + cost > budget:
                continue
            cid = scored.citation.id
            if cid not in items:
                if len(items) >= k:
                    continue
                items[cid] = Evidence(number=len(items) + 1, citation=scored.citation, passages=[])
            items[cid].passages.append(scored)
            used += cost
        best = max((p.dense_similarity or 0.0 for p in ranked), default=None)
        sufficient = bool(items) and (
            best is None or self.mode == "lexical" or best >= self.settings.min_relevance
        )
        return EvidenceSet(
            question=question,
            items=list(items.values()),
            filters=filters or self.filters,
            method=self.mode,
            corpus_version=self.index.store.corpus_version(),
            token_count=used,
            best_similarity=best,
            sufficient=sufficient,
        )

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [
            Document(
                page_content=hit.passage.text,
                id=hit.passage.id,
                metadata={
                    "citation_id": hit.citation.id,
                    "title": hit.citation.title,
                    "year": hit.citation.year,
                    "evidence_level": (hit.citation.evidence_level or EvidenceLevel.OTHER).value,
                    "score": hit.score,
                },
            )
            for hit in self.search(query)
        ]
