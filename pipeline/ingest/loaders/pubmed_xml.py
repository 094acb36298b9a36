"""PubMed XML: efetch ``PubmedArticleSet``, baseline/update files and legacy ``MedlineCitationSet``.

Design choices:

* **Streaming.** Baseline files are 30k records / 50 MB uncompressed, so the file is read
  with :func:`lxml.etree.iterparse` and each record is cleared (and its already-processed
  siblings deleted) as soon as it has been turned into a :class:`Citation`; memory stays
  bounded by one record plus the results. ``.gz`` files are decompressed on the fly.
* **All or nothing.** Results are collected in lists and only returned once the whole
  document parsed, so a truncated file raises :class:`LoadError` instead of yielding the
  records before the damage.
* **The article's own DOI.** Taken from ``PubmedData/ArticleIdList`` (direct children
  only) or ``Article/ELocationID``; never from ``ReferenceList``, whose ``ArticleId``
  elements name the *cited* works.
* **Dates.** ``PubDate/Year``, else the year inside ``MedlineDate`` ("1976 Nov-Dec"),
  else the electronic ``ArticleDate``.
* **Text.** Titles and abstracts carry inline markup (``<i>``, ``<sup>``); text is
  flattened with :func:`element_text`, which keeps words apart (``the<i>TERT</i>gene`` →
  "the TERT gene") without splitting ``H<sub>2</sub>O``.
* **Structured abstracts** give one :class:`Section` per ``AbstractText``, headed by its
  ``Label`` (BACKGROUND, METHODS …).
* ``DeleteCitation`` entries are reported as skipped records, not loaded.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import IO

from lxml import etree

from pipeline.errors import LoadError
from pipeline.ingest.loaders._common import (
    GZIP_MAGIC,
    clean,
    collect,
    make_author,
    make_citation,
    normalize_month,
    normalize_pmcid,
    parse_year,
    unreadable,
)
from pipeline.ingest.loaders._xmltext import INLINE_WORD_ELEMENTS
from pipeline.ingest.loaders._xmltext import element_text as _element_text
from pipeline.ingest.loaders.base import LoadResult, SkippedRecord
from pipeline.models.corpus import Author, Citation, Section, SourceKind


def element_text(el: etree._Element | None) -> str:
    """PubMed text: inline markup separates words (its spacing was stripped upstream)."""
    return _element_text(el, spaced=INLINE_WORD_ELEMENTS)


_RECORD_TAGS = ("PubmedArticle", "PubmedBookArticle", "MedlineCitation", "DeleteCitation")


def _text(el: etree._Element | None, path: str) -> str:
    if el is None:
        return ""
    return clean(el.findtext(path))


def _authors(container: etree._Element) -> list[Author | None]:
    out: list[Author | None] = []
    for author in container.findall("AuthorList/Author"):
        if author.get("ValidYN") == "N":
            continue
        out.append(
            make_author(
                family=_text(author, "LastName"),
                given=_text(author, "ForeName") or _text(author, "FirstName"),
                initials=_text(author, "Initials"),
                collective=element_text(author.find("CollectiveName")),
            )
        )
    return out


def _sections(container: etree._Element) -> list[Section]:
    sections = []
    for node in container.findall("Abstract/AbstractText"):
        text = element_text(node)
        if text:
            sections.append(Section(heading=clean(node.get("Label")), text=text))
    return sections


def _own_ids(record: etree._Element, container: etree._Element) -> dict[str, str]:
    """The record's own ids: ``PubmedData/ArticleIdList`` first, then ``ELocationID``."""
    ids: dict[str, str] = {}
    # Direct children only: ReferenceList/Reference/ArticleIdList holds cited works' ids.
    for node in record.findall("PubmedData/ArticleIdList/ArticleId"):
        kind = (node.get("IdType") or "").lower()
        if kind and node.text and kind not in ids:
            ids[kind] = clean(node.text)
    for node in container.findall("ArticleIdList/ArticleId"):  # book documents
        kind = (node.get("IdType") or "").lower()
        if kind and node.text and kind not in ids:
            ids[kind] = clean(node.text)
    for node in container.findall("ELocationID"):
        if (node.get("EIdType") or "").lower() == "doi" and node.get("ValidYN") != "N":
            ids.setdefault("doi", clean(node.text))
    return ids


def _date(
    container: etree._Element, pub_date: etree._Element | None
) -> tuple[int | None, str | None]:
    medline_date = _text(pub_date, "MedlineDate")
    year = parse_year(_text(pub_date, "Year")) or parse_year(medline_date)
    month = normalize_month(_text(pub_date, "Month"))
    if not month and medline_date:
        # "1976 Nov-Dec" → "Nov-Dec"; "2008 Winter" → "Winter".
        month = clean(medline_date.partition(" ")[2]) or None
    if year is None:
        year = parse_year(_text(container, "ArticleDate/Year"))
    return year, month


def _pages(article: etree._Element) -> str | None:
    pages = _text(article, "Pagination/MedlinePgn")
    if not pages:
        start, end = _text(article, "Pagination/StartPage"), _text(article, "Pagination/EndPage")
        pages = f"{start}-{end}" if start and end else start
    return pages or None


def _record(record: etree._Element, path: Path) -> Citation | SkippedRecord:
    """Turn a ``PubmedArticle``, ``PubmedBookArticle`` or bare ``MedlineCitation``."""
    if record.tag == "PubmedBookArticle":
        medline = record.find("BookDocument")
        container = medline
    else:
        medline = record if record.tag == "MedlineCitation" else record.find("MedlineCitation")
        container = medline.find("Article") if medline is not None else None
    pmid = _text(medline, "PMID")
    label = f"PMID {pmid}" if pmid else f"{record.tag} at line {record.sourceline}"
    if medline is None or container is None:
        return SkippedRecord(record=label, reason="record has no Article/BookDocument element")
    ids = _own_ids(record, container)
    journal = container.find("Journal")
    if record.tag == "PubmedBookArticle":
        pub_date = container.find("Book/PubDate")
        title = element_text(container.find("ArticleTitle")) or element_text(
            container.find("Book/BookTitle")
        )
    else:
        pub_date = journal.find("JournalIssue/PubDate") if journal is not None else None
        title = element_text(container.find("ArticleTitle")) or element_text(
            container.find("VernacularTitle")
        )
    year, month = _date(container, pub_date)
    keywords = [element_text(k) for k in medline.findall("KeywordList/Keyword")]
    return make_citation(
        path,
        label,
        title=title,
        authors=_authors(container),
        sections=_sections(container),
        year=year,
        month=month,
        doi=ids.get("doi"),
        pmid=pmid or ids.get("pubmed"),
        pmcid=normalize_pmcid(ids.get("pmc")),
        pages=_pages(container),
        journal=_text(journal, "Title") or None,
        journal_iso=_text(journal, "ISOAbbreviation") or None,
        volume=_text(journal, "JournalIssue/Volume") or None,
        issue=_text(journal, "JournalIssue/Issue") or None,
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid else None,
        publication_types=[
            t for t in (element_text(p) for p in container.iter("PublicationType")) if t
        ],
        keywords=[k for k in keywords if k],
        source_kind=SourceKind.ARTICLE,
    )


def _open(path: Path) -> IO[bytes] | gzip.GzipFile:
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise unreadable(path, exc) from exc
    if raw.read(2) == GZIP_MAGIC:
        raw.close()
        return gzip.open(path, "rb")  # owns (and closes) its own file handle
    raw.seek(0)
    return raw


def _release(elem: etree._Element) -> None:
    """Free a processed record and the already-processed siblings before it."""
    elem.clear()
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


def load(path: Path) -> LoadResult:
    """Load every citation in a PubMed/MEDLINE XML file (plain or gzipped)."""
    if path.is_file() and path.stat().st_size == 0:
        raise LoadError(f"{path}: file is empty", "remove it or re-export it", path=str(path))
    items: list[Citation | SkippedRecord] = []
    with _open(path) as stream:
        context = etree.iterparse(
            stream,
            events=("end",),
            tag=_RECORD_TAGS,
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=True,
        )
        try:
            for _event, elem in context:
                parent = elem.getparent()
                nested = parent is not None and parent.tag == "PubmedArticle"
                if elem.tag == "MedlineCitation" and nested:
                    continue  # handled (and freed) with its PubmedArticle
                if elem.tag == "DeleteCitation":
                    items.extend(
                        SkippedRecord(
                            record=f"PMID {clean(p.text)}",
                            reason="listed in DeleteCitation (withdrawn from PubMed)",
                        )
                        for p in elem.iter("PMID")
                    )
                else:
                    items.append(_record(elem, path))
                _release(elem)
        except etree.LxmlError as exc:
            line = getattr(exc, "lineno", None) or "?"
            raise LoadError(
                f"{path}: malformed or truncated XML at line {line}: {exc}",
                "the file is damaged (an interrupted download?); re-fetch it from PubMed "
                "and check it with `xmllint --noout`",
                path=str(path),
                record=f"line {line}",
            ) from exc
        except RecursionError as exc:  # inline markup is flattened recursively
            raise LoadError(
                f"{path}: markup nested too deeply to read",
                "a title or abstract nests inline markup thousands of levels deep; the "
                "file is most likely damaged",
                path=str(path),
            ) from exc
        except (OSError, EOFError, zlib.error) as exc:
            raise LoadError(
                f"{path}: cannot read compressed data ({exc})",
                "the .gz file is corrupt or truncated; re-download it",
                path=str(path),
            ) from exc
    if not items:
        raise LoadError(
            f"{path}: no PubMed records found",
            "expected <PubmedArticleSet> or <MedlineCitationSet> with <PubmedArticle>/"
            "<MedlineCitation> records; pass --format to choose another loader",
            path=str(path),
        )
    citations, skipped = collect(items)
    return LoadResult(citations=citations, skipped=skipped)
