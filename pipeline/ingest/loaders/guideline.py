"""Guideline-type documents: Markdown, plain text and HTML pages (one citation per file).

All three are section-aware, because chunking and citing work per section:

* **HTML** is parsed with :mod:`lxml.html`. Site chrome is removed first — ``script``,
  ``style``, ``nav``, ``aside``, ``form``, page-level ``header``/``footer``, ARIA
  navigation/banner/contentinfo/search regions, and any element whose class or id says
  nav/menu/footer/breadcrumb/share/social/cookie/skip … — then the text of ``main`` (or
  ``article``, or ``body``) is walked in document order: ``h1``–``h4`` open sections,
  everything else becomes paragraphs. ``citation_*``/Dublin Core ``<meta>`` tags, when a
  page has them, give title, authors, date, DOI and journal.
* **Markdown** is rendered to HTML with :mod:`markdown` and then read by the same walker,
  so ``#``–``####`` headings become sections and inline syntax disappears.
* **Plain text** has no markup: the first short line is the title and a short single-line
  paragraph that does not end like a sentence (``.``, ``,``, ``;``) is a heading.

Heading paths are kept ("Methods / Data sources"), except for the first ``h1``, which is
the document's title. Reference-list sections are dropped (they list other works and
would only pollute retrieval), as are "Back to top" style navigation paragraphs.
``source_kind`` is :attr:`SourceKind.GUIDELINE`, so the evidence level is GUIDELINE.
"""

from __future__ import annotations

import re
from pathlib import Path

import lxml.html
import markdown as markdown_lib
from lxml import etree

from pipeline.errors import LoadError
from pipeline.ingest.loaders._common import (
    clean,
    clean_opt,
    decode_text,
    make_author,
    make_citation,
    parse_author_string,
    parse_year,
    read_bytes,
)
from pipeline.ingest.loaders.base import LoadResult, SkippedRecord
from pipeline.models.corpus import Author, Citation, Section, SourceKind

# fmt: off
_CHROME_TAGS = frozenset({
    "script", "style", "noscript", "template", "svg", "nav", "aside", "form", "iframe",
    "button", "select", "input", "textarea", "dialog", "menu", "object", "embed", "canvas",
})
# fmt: on
_CHROME_ROLES = frozenset(
    ["navigation", "banner", "contentinfo", "search", "complementary", "menu", "menubar"]
)
_CHROME_ATTR = re.compile(
    r"nav|menu|footer|breadcrumb|share|social|cookie|consent|skip|sidebar|subscribe|"
    r"newsletter|related-?(pages|links|content)|advert|popup|modal|toolbar|print-only",
    re.I,
)
# fmt: off
_BLOCK_TAGS = frozenset({
    "p", "div", "section", "article", "main", "li", "ul", "ol", "dl", "dt", "dd", "blockquote",
    "pre", "figure", "figcaption", "table", "thead", "tbody", "tfoot", "tr", "caption",
    "address", "details", "summary", "hr", "header", "footer", "h5", "h6",
})
# fmt: on
_LINK_LIST_TAGS = frozenset(["ul", "ol", "div", "section", "table", "p"])
_HEADING_TAGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4}
_HEADING_MARK = "\x00H"
_REFERENCE_HEADING = re.compile(
    r"^(references?( cited)?|bibliography|literature cited|works cited)$", re.I
)
_NOISE_PARAGRAPH = re.compile(
    r"^(top|back to top|return to top|\^ top|print|share|error processing ssi file)$", re.I
)
_SOURCE_ORG = re.compile(r"^Source:\s*([A-Z][\w.&' -]{1,60}?)\s*(?:\(|,|;|$)")
_SOURCE_URL = re.compile(r"Source:[^\n]*?\(?\b(https?://[^\s)|>]+)", re.I)


# --------------------------------------------------------------------------- HTML walk


def _is_chrome(el: lxml.html.HtmlElement) -> bool:
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag in _CHROME_TAGS or el.get("hidden") is not None:
        return True
    if (el.get("role") or "").lower() in _CHROME_ROLES:
        return True
    if tag in ("header", "footer") and not any(
        a.tag in ("main", "article") for a in el.iterancestors()
    ):
        return True
    if tag in ("html", "body", "main", "article"):
        return False  # never drop the whole document for a class name on <body>
    marker = f"{el.get('class') or ''} {el.get('id') or ''}"
    return bool(marker.strip()) and bool(_CHROME_ATTR.search(marker))


def _is_link_list(el: lxml.html.HtmlElement) -> bool:
    """A block that is (almost) only links: a table of contents, menu or link farm."""
    if el.tag not in _LINK_LIST_TAGS:
        return False
    links = [a for a in el.iter("a") if a.get("href")]
    if len(links) < 3:
        return False
    text = len(clean(el.text_content()))
    linked = sum(len(clean(a.text_content())) for a in links)
    return text > 0 and linked / text >= 0.8


def _strip_chrome(root: lxml.html.HtmlElement) -> None:
    doomed = [
        el
        for el in root.iter()
        if isinstance(el.tag, str) and (_is_chrome(el) or _is_link_list(el))
    ]
    for el in doomed:
        if el.getparent() is not None:
            el.drop_tree()  # keeps the tail text, which belongs to the parent


def _linearize(el: etree._Element, out: list[str]) -> None:
    """Append the element's text, marking blocks with blank lines and headings."""
    if not isinstance(el.tag, str):  # comment or processing instruction
        if el.tail:
            out.append(el.tail)
        return
    tag = el.tag.lower()
    if tag in _HEADING_TAGS:
        text = clean(etree.tostring(el, method="text", encoding="unicode", with_tail=False))
        if text:
            out.append(f"\n\n{_HEADING_MARK}{_HEADING_TAGS[tag]}{text}\n\n")
    else:
        block = tag in _BLOCK_TAGS
        out.append("\n\n" if block else (" " if tag in ("td", "th", "br") else ""))
        if el.text:
            out.append(el.text)
        for child in el:
            _linearize(child, out)
        if block:
            out.append("\n\n")
    if el.tail:
        out.append(el.tail)


def _blocks(root: etree._Element) -> list[tuple[int, str]]:
    """``(level, text)`` pairs in document order; level 0 is a paragraph."""
    out: list[str] = []
    _linearize(root, out)
    blocks = []
    for chunk in re.split(r"\n\s*\n", "".join(out)):
        text = clean(chunk)
        if text.startswith(_HEADING_MARK):
            blocks.append((int(text[2]), text[3:].strip()))
        elif text and not _NOISE_PARAGRAPH.match(text):
            blocks.append((0, text))
    return blocks


def _sections(blocks: list[tuple[int, str]], title: str) -> tuple[str, list[Section]]:
    """Group blocks under heading paths; the first h1 titles the document."""
    sections: list[Section] = []
    path: dict[int, str] = {}
    heading = ""
    buffer: list[str] = []
    title_seen = False

    def flush() -> None:
        last = heading.rsplit(" / ", 1)[-1]
        if buffer and not _REFERENCE_HEADING.match(last):
            sections.append(Section(heading=heading, text="\n\n".join(buffer)))
        buffer.clear()

    for level, text in blocks:
        if level == 0:
            buffer.append(text)
            continue
        flush()
        if level == 1 and not title_seen:
            title_seen = True
            title = title or text
            path.clear()
        else:
            path[level] = text
            for deeper in [k for k in path if k > level]:
                del path[deeper]
        heading = " / ".join(path[k] for k in sorted(path))
    flush()
    return title, sections


def _source_author(blocks: list[tuple[int, str]]) -> list[Author | None]:
    """The publishing body named on a "Source: NINDS (…)" line, as a collective author."""
    for level, text in blocks[:6]:
        match = _SOURCE_ORG.match(text) if level == 0 else None
        if match:
            return [make_author(collective=match.group(1))]
    return []


# --------------------------------------------------------------------------- metadata


def _meta(doc: lxml.html.HtmlElement) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for node in doc.iter("meta"):
        name = (node.get("name") or node.get("property") or "").strip().lower()
        content = clean(node.get("content"))
        if name and content:
            found.setdefault(name, []).append(content)
    return found


def _first(meta: dict[str, list[str]], *names: str) -> str | None:
    for name in names:
        if meta.get(name):
            return meta[name][0]
    return None


def _content_root(body: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """The page's main content: ``main``/``role=main``, else ``article``, else ``body``."""
    for wanted in ("main", "article"):
        for el in body.iter():
            if not isinstance(el.tag, str):
                continue
            is_main = el.tag == "main" or (el.get("role") or "").lower() == "main"
            if (is_main if wanted == "main" else el.tag == "article") and clean(el.text_content()):
                return el
    return body


def _html_document(text: str, path: Path) -> lxml.html.HtmlElement:
    # lxml refuses str input that still carries an XML encoding declaration (XHTML).
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
    try:
        return lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        raise LoadError(
            f"{path}: cannot parse as HTML ({exc})",
            "check that the file is an HTML page, or pass --format text",
            path=str(path),
        ) from exc


def _result(made: Citation | SkippedRecord) -> LoadResult:
    if isinstance(made, Citation):
        return LoadResult(citations=[made])
    return LoadResult(skipped=[made])


def _from_html(doc: lxml.html.HtmlElement, path: Path, source_url: str | None) -> LoadResult:
    meta = _meta(doc)
    canonical = next(
        (link.get("href") for link in doc.iter("link") if (link.get("rel") or "") == "canonical"),
        None,
    )
    _strip_chrome(doc)
    body = doc.find("body")
    if body is None:
        body = doc
    content = _content_root(body)
    title_meta = _first(meta, "citation_title", "dc.title", "og:title")
    blocks = _blocks(content)
    title, sections = _sections(blocks, title_meta or "")
    if not title:
        title = clean(doc.findtext(".//title"))
    first_page, last_page = _first(meta, "citation_firstpage"), _first(meta, "citation_lastpage")
    pages = f"{first_page}-{last_page}" if first_page and last_page else first_page
    keywords = re.split(r"[;,]", _first(meta, "citation_keywords", "keywords") or "")
    made = make_citation(
        path,
        path.name,
        title=title,
        authors=[
            parse_author_string(a)
            for a in meta.get("citation_author", []) or meta.get("dc.creator", [])
        ]
        or _source_author(blocks),
        sections=sections,
        year=parse_year(
            _first(
                meta,
                "citation_publication_date",
                "citation_date",
                "dc.date",
                "article:published_time",
            )
            or ""
        ),
        doi=_first(meta, "citation_doi"),
        pmid=_first(meta, "citation_pmid"),
        pages=pages,
        journal=_first(meta, "citation_journal_title"),
        journal_iso=_first(meta, "citation_journal_abbrev"),
        volume=_first(meta, "citation_volume"),
        issue=_first(meta, "citation_issue"),
        url=clean_opt(canonical)
        or _first(meta, "og:url", "citation_abstract_html_url", "citation_fulltext_html_url")
        or source_url,
        publication_types=meta.get("citation_categories", [])
        + meta.get("citation_article_type", []),
        keywords=[k.strip() for k in keywords if k.strip()],
        source_kind=SourceKind.GUIDELINE,
    )
    return _result(made)


# --------------------------------------------------------------------------- loaders


def _too_nested(markdown_text: str) -> bool:
    """Absurd list/quote nesting, which makes the Markdown renderer slow then recurse out.

    Rendering time grows with the square of the nesting depth (seconds at a few hundred
    levels), so such input is refused up front; real documents nest a handful of levels.
    """
    for line in markdown_text.splitlines():
        stripped = line.lstrip(" \t>")
        prefix = line[: len(line) - len(stripped)]
        if prefix.count(">") > 100 or len(prefix.expandtabs(4)) > 400:
            return True
    return False


def _too_deep(path: Path) -> LoadError:
    return LoadError(
        f"{path}: markup nested too deeply to read",
        "the document nests lists/quotes/elements thousands of levels deep; it is most "
        "likely generated or damaged",
        path=str(path),
    )


def load_html(path: Path) -> LoadResult:
    """Load an HTML page, dropping site chrome and keeping h1–h4 as section headings."""
    text = decode_text(read_bytes(path), path)
    try:
        return _from_html(_html_document(text, path), path, None)
    except RecursionError as exc:
        raise _too_deep(path) from exc


def load_markdown(path: Path) -> LoadResult:
    """Load a Markdown document; ``#``–``####`` headings become sections."""
    text = decode_text(read_bytes(path), path)
    source = _SOURCE_URL.search(text[:4000])
    if _too_nested(text):
        raise _too_deep(path)
    try:
        rendered = markdown_lib.markdown(text, extensions=["tables", "sane_lists"])
    except RecursionError as exc:  # the renderer recurses once per nesting level
        raise _too_deep(path) from exc
    doc = _html_document(f"<html><body>{rendered}</body></html>", path)
    try:
        return _from_html(doc, path, source.group(1) if source else None)
    except RecursionError as exc:
        raise _too_deep(path) from exc


def _is_text_heading(paragraph: str, following: str | None) -> bool:
    lines = paragraph.splitlines()
    if len(lines) != 1 or following is None:
        return False
    line = lines[0].strip()
    return (
        0 < len(line) <= 120
        and len(line.split()) <= 16
        and not line.endswith((".", ",", ";", ":", ")"))
        and not line.lower().startswith("source:")
        and not re.match(r"^([-*•]|\d+[.)])\s", line)
    )


def load_text(path: Path) -> LoadResult:
    """Load a plain-text document; short title-like lines become section headings."""
    text = decode_text(read_bytes(path), path).replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    blocks: list[tuple[int, str]] = []
    for index, paragraph in enumerate(paragraphs):
        following = paragraphs[index + 1] if index + 1 < len(paragraphs) else None
        first_line = index == 0 and len(paragraph.splitlines()) == 1 and len(paragraph) <= 200
        if first_line:
            blocks.append((1, clean(paragraph)))
        elif _is_text_heading(paragraph, following):
            blocks.append((2, clean(paragraph)))
        elif not _NOISE_PARAGRAPH.match(clean(paragraph)):
            blocks.append((0, clean(paragraph)))
    title, sections = _sections(blocks, "")
    source = _SOURCE_URL.search(text[:4000])
    made = make_citation(
        path,
        path.name,
        title=title,
        authors=_source_author(blocks),
        sections=sections,
        url=source.group(1) if source else None,
        source_kind=SourceKind.GUIDELINE,
    )
    return _result(made)
