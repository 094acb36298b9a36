"""Hybrid retrieval: dense (Chroma) + lexical (stemmed BM25), fused, filtered, diversified, packed.

``HybridRetriever`` is a LangChain ``BaseRetriever`` so it composes into LCEL chains; its
own methods return typed models:

* :meth:`HybridRetriever.search` ranks passages. Each side returns ``retrieval.candidates``
  hits under the same metadata filters (Chroma ``where`` / a BM25 weight mask): the MiniLM
  vectors, optionally a second embedding model's vectors (``second_model``), and BM25.
  The lists are fused (:func:`fuse_scores`: z-scores of each side's scores, or reciprocal
  ranks), optionally refined by one round of pseudo-relevance feedback, and at most
  ``per_citation_cap`` passages per citation are kept so one long document cannot crowd
  out the others;
* :meth:`HybridRetriever.evidence` groups the ranking by citation, numbers the sources
  1..n and packs passages into ``token_budget`` tokens (tiktoken); it marks the set
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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

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
from pipeline.models import (
    Evidence,
    EvidenceLevel,
    EvidenceSet,
    ScoredPassage,
    SearchFilters,
)
from pipeline.retrieve.rerank import rerank_ranked
from pipeline.settings import RetrievalSettings
from pipeline.tokens import count_tokens

Mode = Literal["hybrid", "dense", "lexical"]


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


Side = Literal["dense", "second", "lexical"]

EVIDENCE_HEADER_TOKENS = 30
"""Tokens of one source's delimiters in the drafting prompt besides its title and passages
(``<evidence number=… level=… year=…>``, ``Title:``, ``</evidence>``; measured: 25–29 in
cl100k). Counted into ``token_budget`` so the budget bounds what the model really reads:
passages alone undercounted the evidence block by 21–31%."""


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


@dataclass
class _Scored:
    """One side's result for a query: its candidate list and, for BM25, every score."""

    hits: dict[str, float] = field(default_factory=dict)
    exact: Callable[[str], float | None] | None = None


def _dense_side(
    vectors: VectorIndex, vector: np.ndarray, n: int, where: dict[str, Any] | None
) -> _Scored:
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
        return _Scored({pid: 1.0 - float(d) for pid, d in zip(ids, distances, strict=True)})
    except Exception:  # chromadb raises assorted types; the wrapper has the error handling
        return _Scored({h.passage_id: h.similarity for h in vectors.query(vector, n, where)})


def _mean_vector(vectors: VectorIndex, passage_ids: list[str]) -> np.ndarray | None:
    """Mean of the stored vectors of ``passage_ids`` (None when none is stored)."""
    if not passage_ids:
        return None
    got = vectors.collection.get(ids=passage_ids, include=["embeddings"])
    stored = got.get("embeddings")
    if stored is None or len(stored) == 0:
        return None
    return np.asarray(stored, dtype=np.float32).mean(axis=0)  # type: ignore[no-any-return]


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
        true scores for ``query`` (:meth:`_score_hints`): they compete, nothing forces them
        into the result.
        """
        if not query.strip():
            raise RetrievalError("The query is empty", "Pass a question or search terms.")
        mode = mode or self.mode
        filters = filters or self.filters
        k = k or self.settings.k
        cfg = self.settings
        timings: dict[str, float] = {}
        n = max(cfg.candidates, k)
        sides: dict[str, _Scored] = {}
        where = chroma_where(filters)
        # side -> (its Chroma collection, the query vector), for dense feedback below
        dense_queries: dict[str, tuple[VectorIndex, np.ndarray]] = {}
        if mode in ("hybrid", "dense"):
            start = time.perf_counter()
            vector = self.index.embed_query([query], cfg.query_model)[0]
            timings["embed_ms"] = (time.perf_counter() - start) * 1000
            start = time.perf_counter()
            sides["dense"] = _dense_side(self.index.vectors, vector, n, where)
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
                sides["second"] = _dense_side(second, second_vector, n, where)
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
            sides["lexical"] = self._lexical_side(lexical, terms, mask, n)
            timings["lexical_ms"] = (time.perf_counter() - start) * 1000
        hints = self._score_hints(sides, hint_ids, dense_queries, where)
        start = time.perf_counter()
        fused = self._fuse(sides, hints)
        timings["fuse_ms"] = (time.perf_counter() - start) * 1000
        # Similarities to the question itself (feedback moves the dense query vector):
        # these feed ``min_relevance``, so an off-topic question stays insufficient.
        dense = sides.get("dense", _Scored()).hits
        if cfg.prf_docs > 0 and fused:
            start = time.perf_counter()
            first = sorted(fused, key=lambda pid: (-fused[pid], pid))[: cfg.prf_docs]
            if self._feedback(sides, first, lexical, terms, mask, dense_queries, n, where):
                self._score_hints(sides, hint_ids, dense_queries, where)  # the moved queries
                fused = blend(self._fuse(sides, hints), fused, cfg.prf_keep_weight)
            timings["prf_ms"] = (time.perf_counter() - start) * 1000
        ranked = sorted(fused, key=lambda pid: (-fused[pid], pid))
        if cfg.rerank_model:  # opt-in cross-encoder over the fused head (pipeline/rerank.py)
            ranked = rerank_ranked(self.index, cfg, query, ranked, fused, timings)
        lexical_hits = sides.get("lexical", _Scored()).hits
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

    def _feedback(
        self,
        sides: dict[str, _Scored],
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
        cfg = self.settings
        ran = False
        if lexical is not None and terms and cfg.prf_terms > 0 and cfg.prf_weight > 0:
            expansion = lexical.feedback_terms(first, cfg.prf_terms, exclude=terms)
            if expansion:
                expanded = dict(terms)
                for term, weight in expansion.items():
                    expanded[term] = expanded.get(term, 0.0) + cfg.prf_weight * weight
                sides["lexical"] = self._lexical_side(lexical, expanded, mask, n)
                ran = True
        if cfg.prf_dense_weight > 0:
            for side, (vectors, vector) in dense_queries.items():
                centroid = _mean_vector(vectors, first)
                if centroid is None:
                    continue
                moved = vector + cfg.prf_dense_weight * centroid
                norm = float(np.linalg.norm(moved))
                if norm > 0:
                    sides[side] = _dense_side(vectors, moved / norm, n, where)
                    dense_queries[side] = (vectors, moved / norm)  # retrieval hints use it too
                    ran = True
        return ran

    def _score_hints(
        self,
        sides: dict[str, _Scored],
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
                floor = self.settings.min_relevance
                admitted.update((pid, c) for pid, c in cosines.items() if c >= floor)
        lexical = sides.get("lexical")
        if not dense_queries and lexical is not None and lexical.exact is not None:
            admitted.update((pid, None) for pid in ids if (lexical.exact(pid) or 0.0) > 0)
        return admitted

    @staticmethod
    def _lexical_side(
        lexical: LexicalIndex, terms: dict[int, float], mask: np.ndarray | None, n: int
    ) -> _Scored:
        if not terms:
            return _Scored()
        scores = lexical.scores(terms, mask)
        hits = {hit.passage_id: hit.score for hit in lexical.top(scores, n)}
        rows = lexical.row_of

        def exact(pid: str) -> float | None:
            row = rows(pid)
            return None if row is None else float(scores[row])

        return _Scored(hits, exact)

    def _fuse(
        self, sides: dict[str, _Scored], hints: Mapping[str, float | None] | None = None
    ) -> dict[str, float]:
        cfg = self.settings
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
        items: dict[str, Evidence] = {}
        used = 0
        for scored in ranked:
            cid = scored.citation.id
            cost = scored.passage.token_count or 1
            if cid not in items:  # a new source also brings its delimiters and title
                cost += EVIDENCE_HEADER_TOKENS + count_tokens(scored.citation.title)
            if used + cost > budget:
                continue
            if cid not in items:
                if len(items) >= k:
                    continue
                items[cid] = Evidence(number=len(items) + 1, citation=scored.citation, passages=[])
            items[cid].passages.append(scored)
            used += cost
        best = max((p.dense_similarity or 0.0 for p in ranked), default=None)
        unknown = self.unknown_terms_share(question)
        sufficient = (
            bool(items)
            and (best is None or self.mode == "lexical" or best >= self.settings.min_relevance)
            and unknown <= self.settings.max_unknown_terms
        )
        return EvidenceSet(
            question=question,
            items=list(items.values()),
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
