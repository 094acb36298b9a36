"""Ingestion: corpus files → :class:`~pipeline.models.corpus.Citation` → passages → index.

``loaders`` turns one file into citations (one module per format), ``chunking`` splits a
citation into passages, ``run`` orchestrates a whole ``press ingest``.
"""
