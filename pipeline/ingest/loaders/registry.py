"""The format registry: the name users pass to ``--format`` → the loader for that format.

One module per format family, each a plain function ``load(path) -> LoadResult``
(:class:`~pipeline.ingest.loaders.base.Loader`). The registry is a module of its own so that
detection (:mod:`.detect`, which lists the names in its error hint) and dispatch
(:mod:`.dispatch`, which calls the loaders) both import it without importing each other.
"""

from __future__ import annotations

from pipeline.ingest.loaders import (
    bibtex,
    csl_json,
    guideline,
    jats,
    jsonl,
    medline,
    pdf,
    pubmed_xml,
    ris,
)
from pipeline.ingest.loaders.base import Loader

FORMATS: dict[str, Loader] = {
    "jsonl": jsonl.load,
    "pubmed-xml": pubmed_xml.load,
    "medline": medline.load,
    "ris": ris.load,
    "bibtex": bibtex.load,
    "csl-json": csl_json.load,
    "jats": jats.load,
    "markdown": guideline.load_markdown,
    "text": guideline.load_text,
    "html": guideline.load_html,
    "pdf": pdf.load,
}
"""Every loader by its ``--format`` name, in the order the hints list them."""
