"""Hybrid retrieval: dense (Chroma) + lexical (BM25), fused, filtered, diversified, packed.

* ``retriever`` — :class:`~pipeline.retrieve.retriever.HybridRetriever`, the entry point:
  runs the sides, fusion, feedback, the optional reranker and the per-citation cap;
* ``filters`` — search filters as a Chroma ``where`` clause and as a BM25 mask;
* ``sides`` — each side's candidate list and exact scores, and retrieval hints;
* ``fusion`` — the sides' scores into one (z-scores or reciprocal ranks);
* ``feedback`` — pseudo-relevance feedback and the blend with the first pass;
* ``rerank`` — the opt-in cross-encoder over the fused head;
* ``packing`` — ranked passages into numbered sources within the token budget.
"""
