"""What the article page shows beside the text: the evidence panel and the bullets to check.

Built from one stored revision — its :class:`~pipeline.models.article.Article` (references: number →
citation; checks: bullet → supporting passage ids) and the
:class:`~pipeline.models.evidence.EvidenceSet` it was checked against — so the panel shows exactly
the passages the citation check saw, not whatever the index holds today. Everything here is
plain text; the templates escape it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from pipeline.models.article import Article
from pipeline.models.evidence import EvidenceSet

_CITE_HREF = re.compile(r'href="#ref-(\d+)"')


@dataclass(frozen=True)
class PassageView:
    """One retrieved passage of a source; ``cited`` when a bullet's check rests on it."""

    id: str
    text: str
    section: str
    cited: bool


@dataclass(frozen=True)
class SourceView:
    """One numbered reference with its metadata, evidence level and passages."""

    number: int
    reference: str
    title: str
    authors: str
    journal: str
    year: str
    level: str
    links: tuple[tuple[str, str], ...]
    passages: tuple[PassageView, ...]
    bullets: tuple[str, ...]
    file: str
    ingested_at: str


def link_citations(fragment: str, titles: Mapping[int, str] | None = None) -> str:
    """Point the article's citation links at the evidence panel (``#evidence-N``) and give
    each an accessible name, "Evidence 3: <source title>" (a bare "3" says nothing).

    ``fragment`` is :func:`pipeline.article.render.to_html_fragment` output (already sanitized);
    only the digits of its own ``#ref-N`` links are reused, and titles are escaped.
    """
    names = titles or {}

    def relink(match: re.Match[str]) -> str:
        number = int(match.group(1))
        title = names.get(number, "")
        label = f"Evidence {number}: {title}" if title else f"Evidence {number}"
        return f'href="#evidence-{number}" aria-label="{html.escape(label, quote=True)}"'

    return _CITE_HREF.sub(relink, fragment)


def evidence_panel(article: Article, evidence: EvidenceSet) -> list[SourceView]:
    """One :class:`SourceView` per reference, in reference order."""
    items = {item.citation.id: item for item in evidence.items}
    views = []
    for ref in sorted(article.references, key=lambda r: r.number):
        cited_ids = {
            pid
            for check in article.checks
            if check.is_bullet and ref.number in check.numbers
            for pid in check.passage_ids
        }
        item = items.get(ref.citation_id)
        passages = tuple(
            PassageView(p.passage.id, p.passage.text, p.passage.section, p.passage.id in cited_ids)
            for p in (item.passages if item is not None else [])
        )
        citation = ref.citation
        views.append(
            SourceView(
                number=ref.number,
                reference=ref.text,
                title=citation.title,
                authors=", ".join(a.display for a in citation.authors),
                journal=citation.journal or "",
                year=str(citation.year or "n.d."),
                level=ref.evidence_level.label,
                links=_links(citation.pmid, citation.doi, ref.url),
                passages=tuple(sorted(passages, key=lambda p: not p.cited)),
                bullets=tuple(
                    bullet.text
                    for section in article.draft.sections
                    for bullet in section.bullets
                    if ref.number in bullet.citations
                ),
                file=Path(citation.source_file).name if citation.source_file else "",
                ingested_at=(citation.ingested_at or "")[:16].replace("T", " "),
            )
        )
    return views


def _links(pmid: str | None, doi: str | None, url: str | None) -> tuple[tuple[str, str], ...]:
    """(label, URL) pairs: PubMed, DOI and the source's own URL when it is http(s)."""
    links = []
    if pmid and pmid.strip().isdigit():
        links.append(("PubMed", f"https://pubmed.ncbi.nlm.nih.gov/{pmid.strip()}/"))
    if doi and doi.strip():
        links.append(("DOI", f"https://doi.org/{quote(doi.strip(), safe='/:;()._-')}"))
    if url and _is_http(url) and url not in {u for _, u in links}:
        links.append(("Source", url.strip()))
    return tuple(links)


def _is_http(url: str) -> bool:
    """True for a well-formed http(s) URL (characters that are never valid in one refused)."""
    url = url.strip()
    if any(ch.isspace() or not ch.isprintable() or ch in '<>"`' for ch in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in {"http", "https"} and bool(parts.netloc)
