"""JATS full text (PMC open-access ``.nxml``): one :class:`Citation` per article.

What is kept and why:

* **Front matter** (``article-meta``): title, authors (``contrib-type="author"``, names or
  ``collab``), journal title and ISO/NLM abbreviation, publication year (print, then
  electronic, then collection date), volume/issue/pages (``fpage``-``lpage`` or
  ``elocation-id``), PMID/PMCID/DOI, keywords, and the article type + heading subjects
  as publication types.
* **Licence**: the article's own ``permissions/license`` (its ``xlink:href``,
  ``license-type`` and licence text) becomes ``licence_basis``; older files without one
  fall back to a copyright statement that names the licence. Re-use decisions depend on
  this, so it is recorded per article.
* **Abstracts** become sections headed "Abstract" (or "Abstract / Background" for
  structured ones; an author summary keeps its own title).
* **Body**: every ``sec`` becomes a section headed by its title path ("Results / Growth
  rate"), holding the paragraphs directly inside it; nested ``sec`` elements become their
  own sections, so headings stay precise for chunking.
* **Left out**: figures, tables and their captions, formulas, supplementary-material
  blocks (they read badly as prose and mostly repeat the text), and administrative
  sections (competing interests, author contributions, acknowledgements, funding) plus
  all of ``back`` (reference list, footnotes) — none of it is evidence about the question.
"""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from pipeline.errors import LoadError
from pipeline.ingest.loaders._common import (
    clean,
    make_author,
    make_citation,
    normalize_month,
    normalize_pmcid,
    parse_year,
    read_bytes,
)
from pipeline.ingest.loaders._xmltext import element_text, xml_parser
from pipeline.ingest.loaders.base import LoadResult
from pipeline.models.corpus import Author, Citation, Section, SourceKind

XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
# Elements whose text is not running prose: skipped wherever they appear.
# fmt: off
_SKIP = frozenset({
    "fig", "fig-group", "table-wrap", "table-wrap-group", "disp-formula",
    "supplementary-material", "graphic", "media", "tex-math", "object-id", "ref-list",
})
# fmt: on
_BLOCKS = ("p", "list", "disp-quote", "def-list", "boxed-text", "statement", "verse-group")
_ADMIN_SECTION = re.compile(
    r"^(competing interests?|conflicts? of interests?|declaration of interests?|"
    r"authors?'? ?contributions?|contributions|acknowledge?ments?|funding|"
    r"supplementary (material|information|data)|supporting information|"
    r"pre-?publication history|additional files?|abbreviations)\.?$",
    re.I,
)
# JATS article-type values that name a design the evidence levels know about.
_ARTICLE_TYPES = {
    "review-article": "Review",
    "systematic-review": "Systematic Review",
    "meta-analysis": "Meta-Analysis",
    "case-report": "Case Reports",
    "practice-guideline": "Practice Guideline",
    "guideline": "Guideline",
}


def _authors(meta: etree._Element) -> list[Author | None]:
    out: list[Author | None] = []
    for contrib in meta.iter("contrib"):
        if contrib.get("contrib-type", "author") != "author":
            continue
        name = contrib.find("name")
        if name is None:
            name = contrib.find("name-alternatives/name")
        if name is not None:
            out.append(
                make_author(
                    family=element_text(name.find("surname")),
                    given=element_text(name.find("given-names")),
                )
            )
        elif contrib.find("collab") is not None:
            out.append(make_author(collective=element_text(contrib.find("collab"), _SKIP)))
        elif contrib.find("string-name") is not None:
            out.append(make_author(collective=element_text(contrib.find("string-name"))))
    return out


def _date(meta: etree._Element) -> tuple[int | None, str | None]:
    dates = meta.findall("pub-date")

    def rank(node: etree._Element) -> int:
        kind = node.get("pub-type") or node.get("date-type") or ""
        order = ["ppub", "pub", "epub-ppub", "epub", "collection"]
        return order.index(kind) if kind in order else len(order)

    for node in sorted(dates, key=rank):
        year = parse_year(clean(node.findtext("year")))
        if year:
            return year, normalize_month(node.findtext("month"))
    return None, None


def _licence(meta: etree._Element) -> str | None:
    licence = meta.find("permissions/license")
    if licence is not None:
        href = licence.get(XLINK_HREF) or ""
        kind = licence.get("license-type") or ""
        text = element_text(licence)
        parts = [p for p in (href, kind) if p]
        head = (
            f"article licence element ({', '.join(parts)})" if parts else "article licence element"
        )
        return f"{head}: {text[:400]}" if text else head
    statement = element_text(meta.find("permissions/copyright-statement")) or element_text(
        meta.find("copyright-statement")
    )
    if re.search(r"creative commons|public domain|open[- ]access", statement, re.I):
        return f"article copyright statement: {statement[:400]}"
    return None


def _blocks_text(node: etree._Element) -> str:
    paragraphs = [element_text(child, _SKIP) for child in node if child.tag in _BLOCKS]
    return "\n\n".join(p for p in paragraphs if p)


def _sec_sections(sec: etree._Element, parent: str) -> list[Section]:
    title = element_text(sec.find("title"), _SKIP)
    if _ADMIN_SECTION.match(title):
        return []
    heading = f"{parent} / {title}" if parent and title else (title or parent)
    out: list[Section] = []
    text = _blocks_text(sec)
    if text:
        out.append(Section(heading=heading, text=text))
    for child in sec.findall("sec"):
        out.extend(_sec_sections(child, heading))
    return out


def _abstract_sections(meta: etree._Element) -> list[Section]:
    out: list[Section] = []
    for abstract in meta.findall("abstract"):
        if abstract.get("abstract-type") in {"graphical", "teaser", "toc", "web-summary"}:
            continue
        name = element_text(abstract.find("title")) or "Abstract"
        text = _blocks_text(abstract)
        if text:
            out.append(Section(heading=name, text=text))
        for sec in abstract.findall("sec"):
            out.extend(_sec_sections(sec, name))
    return out


def _body_sections(body: etree._Element | None) -> list[Section]:
    if body is None:
        return []
    out: list[Section] = []
    text = _blocks_text(body)  # paragraphs before the first sec (EHP puts the intro here)
    if text:
        out.append(Section(heading="", text=text))
    for sec in body.findall("sec"):
        out.extend(_sec_sections(sec, ""))
    return out


def _citation(root: etree._Element, path: Path) -> Citation | LoadResult:
    meta = root.find("front/article-meta")
    if meta is None:
        raise LoadError(
            f"{path}: JATS file has no front/article-meta",
            "this does not look like a PMC/JATS article; pass --format to choose another loader",
            path=str(path),
        )
    ids = {
        (node.get("pub-id-type") or ""): clean(node.text)
        for node in meta.findall("article-id")
        if node.text
    }
    journal_meta = root.find("front/journal-meta")
    journal = None
    journal_iso = None
    if journal_meta is not None:
        journal = element_text(journal_meta.find("journal-title-group/journal-title")) or (
            element_text(journal_meta.find("journal-title"))
        )
        abbrevs = {
            (j.get("journal-id-type") or ""): clean(j.text)
            for j in journal_meta.findall("journal-id")
        }
        journal_iso = abbrevs.get("iso-abbrev") or abbrevs.get("nlm-ta")
    fpage, lpage = clean(meta.findtext("fpage")), clean(meta.findtext("lpage"))
    pages = (f"{fpage}-{lpage}" if lpage and lpage != fpage else fpage) or clean(
        meta.findtext("elocation-id")
    )
    year, month = _date(meta)
    article_type = root.get("article-type") or ""
    pub_types = [_ARTICLE_TYPES[article_type]] if article_type in _ARTICLE_TYPES else []
    for group in meta.findall("article-categories/subj-group"):
        if group.get("subj-group-type") in ("heading", "article-type"):
            pub_types += [element_text(s) for s in group.findall("subject")]
    label = f"PMC{ids['pmc']}" if ids.get("pmc") else path.name
    made = make_citation(
        path,
        label,
        title=element_text(meta.find("title-group/article-title"), _SKIP),
        authors=_authors(meta),
        sections=_abstract_sections(meta) + _body_sections(root.find("body")),
        year=year,
        month=month,
        doi=ids.get("doi"),
        pmid=ids.get("pmid"),
        pmcid=normalize_pmcid(ids.get("pmc") or ids.get("pmcid")),
        pages=pages or None,
        journal=journal or None,
        journal_iso=journal_iso or None,
        volume=clean(meta.findtext("volume")) or None,
        issue=clean(meta.findtext("issue")) or None,
        publication_types=[t for t in pub_types if t],
        keywords=[k for k in (element_text(k) for k in meta.iter("kwd")) if k],
        licence_basis=_licence(meta),
        source_kind=SourceKind.FULL_TEXT,
    )
    return made if isinstance(made, Citation) else LoadResult(skipped=[made])


def load(path: Path) -> LoadResult:
    """Load one JATS article (PMC ``.nxml``)."""
    data = read_bytes(path)
    try:
        root = etree.fromstring(data, xml_parser())
    except etree.XMLSyntaxError as exc:
        raise LoadError(
            f"{path}: malformed or truncated XML at line {exc.lineno}: {exc.msg}",
            "re-download the article from PMC and check it with `xmllint --noout`",
            path=str(path),
            record=f"line {exc.lineno}",
        ) from exc
    if root is None or etree.QName(root).localname != "article":
        tag = etree.QName(root).localname if root is not None else "nothing"
        raise LoadError(
            f"{path}: root element is <{tag}>, not a JATS <article>",
            "pass --format to choose another loader (PubMed XML is --format pubmed-xml)",
            path=str(path),
        )
    try:
        made = _citation(root, path)
    except RecursionError as exc:  # sections and inline markup are walked recursively
        raise LoadError(
            f"{path}: elements nested too deeply to read",
            "the article nests sections/markup thousands of levels deep; it is most likely damaged",
            path=str(path),
        ) from exc
    return LoadResult(citations=[made]) if isinstance(made, Citation) else made
