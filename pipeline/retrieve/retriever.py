"""Hybrid retrieval: dense (Chroma) + lexical (stemmed BM25), fused, filtered, diversified, packed.

``HybridRetriever`` is a LangChain ``BaseRetriever`` so it composes into LCEL chains; its
own methods return typed models:

* :meth:`HybridRetriever.search` ranks passages. Each side returns ``retrieval.candidates``
  hits (:mod:`~pipeline.retrieve.sides`) under the same metadata filters
  (:mod:`~pipeline.retrieve.filters`: Chroma ``where`` / a BM25 weight mask): the MiniLM
  vectors, optionally a second embedding model's vectors (``second_model``), and BM25.
  The lists are fused (:mod:`~pipeline.retrieve.fusion`: z-scores of each side's scores, or
  reciprocal ranks), optionally refined by one round of pseudo-relevance feedback
  (:mod:`~pipeline.retrieve.feedback`), and at most
  ``per_citation_cap`` passages per citation are kept so one long document cannot crowd
  out the others;
* :meth:`HybridRetriever.evidence` groups the ranking by citation, numbers the sources
  1..n and packs passages into ``token_budget`` tokens (:mod:`~pipeline.retrieve.packing`);
  it marks the set
  insufficient when the best dense similarity is below ``min_relevance``.

Why these steps, measured on the BioASQ snippet set (``bench/bioasq_bench.py``: 20,736
short PubMed snippets, 1,692 questions; parameters chosen on one half of the questions,
checked on the other; the numbers are in ``bench/results/bioasq-*.md``):

* **BM25 k1/b** fitted to short passages: with ~30-word passages a repeated term says
  little, so term frequency should saturate early (k1 0.4 instead of 1.2); b stays 0.75.
* **Score fusion instead of rank fusion**: rank fusion treats "first by a wide margin" like
  "first by a hair"; z-scores keep the margin, and BM25 knows the exact score of every
  passage, so a dense candidate that BM25 did not list still gets its true BM25 score.
* **Deeper candidate lists** (200 per side): with score fusion, a passage ranked 150th by
  one side can still win on the other; the lists cost little (Chroma HNSW and a numpy
  top-k over BM25 scores).
* **Pseudo-relevance feedback** (Rocchio): the fused first pass's top passages expand the
  BM25 query with their heaviest terms and move the dense query vector towards their
  mean; one more BM25 scoring and one more nearest-neighbour query. Half of the first
  pass's score is kept in the final ranking so its best answers stay on top.
* **A second embedding model** (e5-small, optional): a differently trained model errs on
  different passages; it costs a second ingest pass and a second query embedding.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Literal

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from pipeline.errors import RetrievalError
from pipeline.index.hybrid import Index
from pipeline.index.lexical import LexicalIndex, tokenize
from pipeline.index.passages import PassageRow
from pipeline.index.vectors import VectorIndex
from pipeline.models.corpus import EvidenceLevel
from pipeline.models.evidence import EvidenceSet, ScoredPassage, SearchFilters
from pipeline.retrieve.feedback import blend, pseudo_relevance_feedback
from pipeline.retrieve.filters import chroma_where, lexical_mask
from pipeline.retrieve.fusion import fuse_sides
from pipeline.retrieve.packing import pack_evidence
from pipeline.retrieve.rerank import rerank_ranked
from pipeline.retrieve.sides import SideScores, dense_side, lexical_side, score_hints
from pipeline.settings.corpus import RetrievalSettings

Mode = Literal["hybrid", "dense", "lexical"]


class HybridRetriever(BaseRetriever):
    """Dense + BM25 retrieval over a hybrid :class:`~pipeline.index.hybrid.Index` (LangChain)."""

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
        hint_ids: Sequence[str] = (),
    ) -> list[ScoredPassage]:
        """The ``k`` best passages for ``query`` (after fusion and the per-citation cap).

        ``hint_ids`` (e.g. a parent article's evidence) join the candidate pool with their
        true scores for ``query`` (:func:`~pipeline.retrieve.sides.score_hints`): they
        compete, nothing forces them into the result.
        """
        if not query.strip():
            raise RetrievalError("The query is empty", "Pass a question or search terms.")
        mode = mode or self.mode
        filters = filters or self.filters
        k = k or self.settings.k
        cfg = self.settings
        timings: dict[str, float] = {}
        n = max(cfg.candidates, k)
        sides: dict[str, SideScores] = {}
        where = chroma_where(filters)
        # side -> (its Chroma collection, the query vector), for dense feedback below
        dense_queries: dict[str, tuple[VectorIndex, np.ndarray]] = {}
        if mode in ("hybrid", "dense"):
            start = time.perf_counter()
            vector = self.index.embed_query([query], cfg.query_model)[0]
            timings["embed_ms"] = (time.perf_counter() - start) * 1000
            start = time.perf_counter()
            sides["dense"] = dense_side(self.index.vectors, vector, n, where)
            dense_queries["dense"] = (self.index.vectors, vector)
            timings["dense_ms"] = (time.perf_counter() - start) * 1000
            second = self.index.second_vectors if cfg.second_model else None
            if cfg.second_model and second is None:
                raise RetrievalError(
                    f"retrieval.second_model is {cfg.second_model!r} but the index was opened "
                    "without a second model",
                    "Open the Index with the same settings as the retriever "
                    "(retrieval.second_model), then run `press ingest` to add its vectors.",
                )
            if second is not None and cfg.second_weight > 0:
                start = time.perf_counter()
                second_vector = self.index.embed_second([query], query=True)[0]
                sides["second"] = dense_side(second, second_vector, n, where)
                dense_queries["second"] = (second, second_vector)
                timings["second_ms"] = (time.perf_counter() - start) * 1000
        lexical: LexicalIndex | None = None
        terms: dict[int, float] = {}
        mask: np.ndarray | None = None
        if mode in ("hybrid", "lexical"):
            start = time.perf_counter()
            lexical = self.index.lexical(k1=cfg.bm25_k1, b=cfg.bm25_b, stemmer=cfg.stemmer)
            mask = lexical_mask(lexical.fields, filters)
            terms = lexical.query_terms(query)
            sides["lexical"] = lexical_side(lexical, terms, mask, n)
            timings["lexical_ms"] = (time.perf_counter() - start) * 1000
        hints = score_hints(cfg.min_relevance, sides, hint_ids, dense_queries, where)
        start = time.perf_counter()
        fused = fuse_sides(cfg, sides, hints)
        timings["fuse_ms"] = (time.perf_counter() - start) * 1000
        # Similarities to the question itself (feedback moves the dense query vector):
        # these feed ``min_relevance``, so an off-topic question stays insufficient.
        dense = sides.get("dense", SideScores()).hits
        if cfg.prf_docs > 0 and fused:
            start = time.perf_counter()
            first = sorted(fused, key=lambda pid: (-fused[pid], pid))[: cfg.prf_docs]
            moved = (sides, first, lexical, terms, mask, dense_queries, n, where)
            if pseudo_relevance_feedback(cfg, *moved):
                # the hints' scores for the moved queries
                score_hints(cfg.min_relevance, sides, hint_ids, dense_queries, where)
                fused = blend(fuse_sides(cfg, sides, hints), fused, cfg.prf_keep_weight)
            timings["prf_ms"] = (time.perf_counter() - start) * 1000
        ranked = sorted(fused, key=lambda pid: (-fused[pid], pid))
        if cfg.rerank_model:  # opt-in cross-encoder over the fused head (retrieve/rerank.py)
            ranked = rerank_ranked(self.index, cfg, query, ranked, fused, timings)
        lexical_hits = sides.get("lexical", SideScores()).hits
        per_citation: dict[str, int] = {}
        results: list[ScoredPassage] = []
        for pid, item in self._stored(ranked, k):
            if item is None:  # vector without a stored passage: repaired by the next ingest
                continue
            cid = item.citation.id
            if per_citation.get(cid, 0) >= cfg.per_citation_cap:
                continue
            per_citation[cid] = per_citation.get(cid, 0) + 1
            results.append(
                ScoredPassage(
                    passage=item.passage,
                    citation=item.citation,
                    score=fused[pid],
                    dense_similarity=dense.get(pid, hints.get(pid)),
                    lexical_score=lexical_hits.get(pid),
                )
            )
            if len(results) >= k:
                break
        self.last_timings = timings
        return results

    def _stored(self, ranked: list[str], k: int) -> Iterator[tuple[str, PassageRow | None]]:
        """Passages of ``ranked`` in order, fetched from the store a slice at a time.

        Deep candidate lists fuse into hundreds of ids, but usually only the first ``k``
        survive: fetching (and validating) all of them cost more than the BM25 search.
        """
        size = k + 4
        for start in range(0, len(ranked), size):
            chunk = ranked[start : start + size]
            stored = self.index.passage_db.get(chunk)
            for pid in chunk:
                yield pid, stored.get(pid)
            size *= 2

    def evidence(
        self,
        question: str,
        k: int | None = None,
        filters: SearchFilters | None = None,
        token_budget: int | None = None,
        hint_ids: Sequence[str] = (),
    ) -> EvidenceSet:
        """Numbered evidence for ``question``, packed into the token budget.

        ``hint_ids`` are candidate passages to consider besides the search's own
        (see :meth:`search`).
        """
        k = k or self.settings.k
        budget = token_budget or self.settings.token_budget
        ranked = self.search(
            question,
            k=max(k * self.settings.per_citation_cap, k),
            filters=filters,
            hint_ids=hint_ids,
        )
        items, used = pack_evidence(ranked, k, budget)
        best = max((p.dense_similarity or 0.0 for p in ranked), default=None)
        unknown = self.unknown_terms_share(question)
        sufficient = (
            bool(items)
            and (best is None or self.mode == "lexical" or best >= self.settings.min_relevance)
            and unknown <= self.settings.max_unknown_terms
        )
        return EvidenceSet(
            question=question,
            items=items,
            filters=filters or self.filters,
            method=self.mode,
            corpus_version=self.index.passage_db.corpus_version(),
            token_count=used,
            best_similarity=best,
            sufficient=sufficient,
        )

    def unknown_terms_share(self, question: str) -> float:
        """Share of the question's content terms that occur nowhere in the corpus.

        Cosine similarity alone lets an off-corpus question through when it shares generic
        clinical vocabulary with some passage (amoxicillin dosing scored 0.355 against
        unrelated demo cards); terms the corpus has never seen are a direct sign that it does
        not cover the topic.
        """
        lexical = self.index.lexical()
        terms = set(tokenize([question], lexical.stemmer)[0])
        if not terms:
            return 0.0
        vocab = lexical.retriever.vocab_dict
        return sum(1 for term in terms if term not in vocab) / len(terms)

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
