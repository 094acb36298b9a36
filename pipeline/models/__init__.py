"""Typed models passed between the pipeline's stages (DESIGN §1), one module per boundary.

Each stage takes the previous stage's model and returns its own::

    corpus file ─▶ Citation ─▶ Passage ─▶ EvidenceSet ─▶ Draft ─▶ Article ─▶ SiteEntry

- ``corpus``: what ingestion produces: citations, passages, evidence levels and the
  identity rules (citation and passage ids);
- ``evidence``: what retrieval hands the drafter: scored passages, numbered evidence,
  search filters;
- ``article``: what drafting and checking produce: the structured draft, references,
  bullet checks, the checked article and its published site entry.
"""
