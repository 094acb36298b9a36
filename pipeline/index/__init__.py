"""The index: a passage DB (the truth) and the dense and lexical indexes derived from it.

* ``hybrid`` — :class:`~pipeline.index.hybrid.Index`, the facade ingest and retrieval use:
  opens the three parts under ``settings.index_dir``, keeps them consistent (reconcile,
  rebuild, check, the single-writer lock) and embeds passages and questions;
* ``passages`` — :class:`~pipeline.index.passages.PassageDB`, the SQLite source of truth
  (files, citations, passages, meta), and what a row contributes to the derived indexes;
* ``migrations`` — the passage DB's named migrations;
* ``vectors`` — one Chroma collection of passage vectors (local folder or shared server);
* ``lexical`` — the BM25 index over stemmed tokens, with per-passage filter fields;
* ``embeddings`` — the embedding backends (MiniLM and e5 on onnxruntime, OpenAI, trained
  query encoders).
"""
