"""Hybrid retrieval: dense (Chroma) + lexical (BM25), fused, filtered, diversified, packed."""
