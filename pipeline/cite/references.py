"""Reference formatting: a citation's metadata → an AMA/Vancouver reference and its link.

Pure functions used by the citation check (reference lists) and by the loaders (page
ranges are written out in full everywhere, so the same article compares equal across
formats and prints the same way in every reference list).
"""

from __future__ import annotations

import re

from pipeline.models.corpus import Citation, SourceKind, strip_doi_prefix

_WEB_KINDS = frozenset({SourceKind.WEB_PAGE, SourceKind.GUIDELINE, SourceKind.POLICY})
_PAGE_RANGE = re.compile(r"^([A-Za-z]*)(\d+)\s*[-–—]\s*([A-Za-z]*)(\d+)$")


def expand_page_range(pages: str) -> str:
    """Write page ranges out in full, AMA style: ``1870-6`` → ``1870-1876``.

    Each comma-separated part is handled alone; a shared letter prefix is repeated
    (``S12-4`` → ``S12-S14``); anything that is not a readable range is returned as is.
    """
    parts = []
    for part in (p.strip() for p in pages.split(",")):
        match = _PAGE_RANGE.match(part)
        if match:
            prefix, start, end_prefix, end = match.groups()
            if len(end) < len(start):
                end = start[: len(start) - len(end)] + end
            if int(end) >= int(start) and end_prefix in ("", prefix):
                part = f"{prefix}{start}-{prefix}{end}"
        parts.append(part)
    return ", ".join(p for p in parts if p)


def reference_url(citation: Citation) -> str | None:
    """The link for a reference: PubMed if there is a PMID, else doi.org, else the URL."""
    if citation.pmid and citation.pmid.strip():
        return f"https://pubmed.ncbi.nlm.nih.gov/{citation.pmid.strip()}/"
    if doi := strip_doi_prefix(citation.doi):
        return f"https://doi.org/{doi}"
    return citation.url or None


def _sentence(text: str) -> str:
    """``text`` ending in exactly one period, or in its own ``?``/``!``."""
    text = text.strip().rstrip(".").rstrip()
    return text if text.endswith(("?", "!")) or not text else text + "."


def _authors(citation: Citation) -> str:
    names = [a.display for a in citation.authors if a.display]
    if len(names) > 6:
        names = [*names[:3], "et al"]
    return _sentence(", ".join(names))


def format_reference(citation: Citation) -> str:
    """The citation as an AMA/Vancouver reference.

    Articles: ``Authors. Title. Journal. Year;Volume(Issue):Pages. doi:…. PMID: …`` with
    up to six authors (more: the first three and "et al."), the ISO journal abbreviation
    when known and whatever parts exist. Web pages, guidelines and policies without a
    volume, issue or pages: ``Authors. Title. Site; Year. URL`` (site: the journal field,
    else "Web page").
    """
    head = [_authors(citation), _sentence(citation.title)]
    year = str(citation.year) if citation.year else ""
    if citation.source_kind in _WEB_KINDS and not (
        citation.volume or citation.issue or citation.pages
    ):
        site = citation.journal_iso or citation.journal or "Web page"
        tail = [_sentence(f"{site}; {year}" if year else site), reference_url(citation) or ""]
        return " ".join(p for p in [*head, *tail] if p)
    journal = _sentence(citation.journal_iso or citation.journal or "")
    locator = year
    if citation.volume:
        locator += f";{citation.volume}" if locator else citation.volume
    if citation.issue:
        locator += f"({citation.issue})" if citation.volume else f";({citation.issue})"
    if citation.pages:
        locator += (":" if locator else "") + expand_page_range(citation.pages)
    doi = strip_doi_prefix(citation.doi)
    pmid = citation.pmid.strip() if citation.pmid else ""
    parts = [*head, journal, _sentence(locator.lstrip(";")), f"doi:{doi}." if doi else ""]
    return " ".join(p for p in [*parts, f"PMID: {pmid}" if pmid else ""] if p)
