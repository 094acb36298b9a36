"""CSL-JSON (``.json``/``.csl.json``): the citation format of Zotero, Pandoc and citeproc.

A file is a JSON array of CSL items (a single item object is accepted too). Mapping:
``title``; ``author`` ``family``/``given`` or ``literal`` (collective); ``container-title``
and ``container-title-short``/``journalAbbreviation``; ``issued.date-parts`` (or ``raw``/
``literal``); ``volume``, ``issue``, ``page``; ``DOI``, ``PMID``, ``PMCID``, ``URL``;
``abstract``; ``genre`` as publication types (``"A; B"`` splits); ``keyword``.

CSL ``id`` values are citation-manager keys ("ITEM-1"), not project ids, so ids are
derived like every other format. The item ``type`` sets the source kind
(``webpage``/``post-weblog`` → web page, ``legislation``/``regulation``/``bill`` →
policy, otherwise article). Input must be UTF-8 (RFC 8259).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pipeline.errors import LoadError
from pipeline.ingest.loaders._common import (
    MONTHS,
    clean_opt,
    collect,
    decode_text,
    make_author,
    make_citation,
    normalize_pmcid,
    parse_author_string,
    parse_year,
    read_bytes,
    sections_from_text,
    split_publication_types,
)
from pipeline.ingest.loaders.base import LoadResult, SkippedRecord
from pipeline.models.corpus import Author, Citation, SourceKind

_WEB_TYPES = {"webpage", "post-weblog", "post"}
_POLICY_TYPES = {"legislation", "regulation", "bill", "legal_case", "standard"}


def _get(item: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        text = clean_opt(item.get(key))
        if text:
            return text
    return None


def _date(item: dict[str, Any]) -> tuple[int | None, str | None]:
    issued = item.get("issued")
    if isinstance(issued, dict):
        parts = issued.get("date-parts")
        if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
            first = parts[0]
            year = parse_year(first[0] if isinstance(first[0], int) else str(first[0]))
            month = None
            if len(first) > 1 and str(first[1]).isdigit() and 1 <= int(first[1]) <= 12:
                month = MONTHS[int(first[1]) - 1]
            return year, month
        return parse_year(str(issued.get("raw") or issued.get("literal") or "")), None
    return parse_year(str(issued or item.get("year") or "")), None


def _authors(raw: object) -> list[Author | None]:
    if not isinstance(raw, list):
        return []
    out: list[Author | None] = []
    for person in raw:
        if isinstance(person, str):
            out.append(parse_author_string(person))
        elif isinstance(person, dict):
            family = clean_opt(person.get("family"))
            if person.get("non-dropping-particle") and family:
                family = f"{clean_opt(person.get('non-dropping-particle'))} {family}"
            out.append(
                make_author(
                    family=family,
                    given=clean_opt(person.get("given")),
                    collective=None if family else clean_opt(person.get("literal")),
                )
            )
    return out


def _citation(index: int, item: dict[str, Any], path: Path) -> Citation | SkippedRecord:
    csl_type = str(item.get("type") or "").lower()
    if csl_type in _WEB_TYPES:
        kind = SourceKind.WEB_PAGE
    elif csl_type in _POLICY_TYPES:
        kind = SourceKind.POLICY
    else:
        kind = SourceKind.ARTICLE
    year, month = _date(item)
    pmid = _get(item, "PMID", "pmid")
    label = (
        f"PMID {pmid}"
        if pmid
        else f"item {index}"
        + (f" (id {item['id']})" if isinstance(item.get("id"), str | int) else "")
    )
    keywords = item.get("keyword")
    genre = item.get("genre")
    return make_citation(
        path,
        label,
        title=_get(item, "title") or "",
        authors=_authors(item.get("author")),
        sections=sections_from_text(("", _get(item, "abstract"))),
        year=year,
        month=month,
        doi=_get(item, "DOI", "doi"),
        pmid=pmid,
        pmcid=normalize_pmcid(_get(item, "PMCID", "pmcid")),
        pages=_get(item, "page"),
        journal=_get(item, "container-title"),
        journal_iso=_get(item, "container-title-short", "journalAbbreviation"),
        volume=_get(item, "volume"),
        issue=_get(item, "issue"),
        url=_get(item, "URL", "url"),
        publication_types=split_publication_types(genre if isinstance(genre, list) else [genre]),
        keywords=[k.strip() for k in re.split(r"[;,]", keywords) if k.strip()]
        if isinstance(keywords, str)
        else [],
        source_kind=kind,
    )


def load(path: Path) -> LoadResult:
    """Load a CSL-JSON array (or single item) of citations."""
    text = decode_text(read_bytes(path), path, legacy=False)
    try:
        data = json.loads(text)
    except RecursionError as exc:
        raise LoadError(
            f"{path}: JSON nested too deeply to read", "check the file", path=str(path)
        ) from exc
    except json.JSONDecodeError as exc:
        raise LoadError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})",
            "CSL-JSON must be one JSON array of items; a file with one object per line "
            "is canonical JSONL (--format jsonl)",
            path=str(path),
            record=f"line {exc.lineno}",
        ) from exc
    if isinstance(data, dict):
        data = data.get("items", [data]) if "items" in data else [data]
    if not isinstance(data, list) or not data:
        raise LoadError(
            f"{path}: expected a non-empty JSON array of CSL items",
            "export the references as CSL-JSON (an array of objects with title, author …)",
            path=str(path),
        )
    items: list[Citation | SkippedRecord] = []
    for index, item in enumerate(data, start=1):
        if isinstance(item, dict):
            items.append(_citation(index, item, path))
        else:
            items.append(SkippedRecord(record=f"item {index}", reason="item is not a JSON object"))
    citations, skipped = collect(items)
    return LoadResult(citations=citations, skipped=skipped)
