"""RIS (``.ris``) reference files, parsed with :mod:`rispy`.

Mapping choices:

* title ``TI``/``T1``; journal ``T2``/``JO``/``JF``, abbreviation ``J2``/``JA``;
* authors ``AU``/``A1`` ("Family, Given" or "Family Initials");
* year from ``PY``/``Y1``/``DA`` (first four-digit year); pages ``SP``-``EP``;
* ``AN`` (accession number) is taken as the PMID only when it is all digits and the
  record points at PubMed (``UR``/``DB``/``DP``), because other databases use ``AN``
  for their own ids;
* ``M3`` (type of work) carries publication types; rispy only keeps the first value of a
  repeated non-list tag, so ``M3`` is parsed as a list tag here;
* ``TY`` sets the source kind (``ELEC``/``WEB`` → web page, ``GOVDOC``/``STAND``/
  ``LEGAL`` … → policy, everything else → article).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import rispy

from pipeline.errors import LoadError
from pipeline.ingest.loaders._common import (
    clean_opt,
    collect,
    decode_text,
    make_citation,
    normalize_month,
    parse_author_string,
    parse_year,
    read_bytes,
    sections_from_text,
    split_publication_types,
)
from pipeline.ingest.loaders.base import LoadResult, SkippedRecord
from pipeline.models.corpus import Citation, SourceKind

_LIST_TAGS = [*rispy.LIST_TYPE_TAGS, "M3", "KW"]
_WEB_TYPES = {"ELEC", "WEB", "BLOG", "ICOMM"}
_POLICY_TYPES = {"GOVDOC", "STAND", "LEGAL", "STAT", "BILL", "HEAR", "GOVERN"}


def _first(entry: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = entry.get(key)
        if isinstance(value, list):
            value = next((v for v in value if clean_opt(v)), None)
        text = clean_opt(value)
        if text:
            return text
    return None


def _as_list(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _pmid(entry: dict[str, Any]) -> str | None:
    accession = _first(entry, "accession_number")
    if not accession or not accession.isdigit():
        return None
    hints = " ".join(
        _as_list(entry.get("urls"))
        + _as_list(entry.get("name_of_database"))
        + _as_list(entry.get("database_provider"))
    ).lower()
    return accession if ("pubmed" in hints or "nlm" in hints or "medline" in hints) else None


def _pages(entry: dict[str, Any]) -> str | None:
    start, end = _first(entry, "start_page"), _first(entry, "end_page")
    if start and end and end != start:
        return f"{start}-{end}"
    return start or end


def _citation(index: int, entry: dict[str, Any], path: Path) -> Citation | SkippedRecord:
    ref_type = (_first(entry, "type_of_reference") or "").upper()
    if ref_type in _WEB_TYPES:
        kind = SourceKind.WEB_PAGE
    elif ref_type in _POLICY_TYPES:
        kind = SourceKind.POLICY
    else:
        kind = SourceKind.ARTICLE
    date = _first(entry, "year", "publication_year", "date") or ""
    # RIS dates are "YYYY/MM/DD/other" in PY and DA; either may carry the month.
    date_parts = (_first(entry, "date") or date).replace("/", " ").split()
    urls = [u for u in (clean_opt(u) for u in _as_list(entry.get("urls"))) if u]
    pmid = _pmid(entry)
    title = _first(entry, "title", "primary_title", "translated_title") or ""
    label = f"PMID {pmid}" if pmid else f"record {index}" + (f" ({title[:40]})" if title else "")
    authors = _as_list(entry.get("authors")) or _as_list(entry.get("first_authors"))
    return make_citation(
        path,
        label,
        title=title,
        authors=[parse_author_string(a) for a in authors],
        sections=sections_from_text(("", _first(entry, "abstract", "notes_abstract"))),
        year=parse_year(date),
        month=normalize_month(date_parts[1]) if len(date_parts) > 1 else None,
        doi=_first(entry, "doi"),
        pmid=pmid,
        pages=_pages(entry),
        journal=_first(entry, "secondary_title", "journal_name", "alternate_title3"),
        journal_iso=_first(entry, "alternate_title1", "alternate_title2"),
        volume=_first(entry, "volume"),
        issue=_first(entry, "number"),
        url=urls[0] if urls else None,
        publication_types=split_publication_types(_as_list(entry.get("type_of_work"))),
        keywords=[k for k in (clean_opt(k) for k in _as_list(entry.get("keywords"))) if k],
        source_kind=kind,
    )


def load(path: Path) -> LoadResult:
    """Load every record of a RIS file."""
    text = decode_text(read_bytes(path), path)
    # rispy splits on "\n" only; normalise Windows/old-Mac line ends first.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    try:
        entries = rispy.loads(text, list_tags=_LIST_TAGS, skip_unknown_tags=True)
    except (ValueError, KeyError, AttributeError, TypeError) as exc:
        # rispy raises plain exceptions on malformed structure (e.g. a continuation line
        # before any tag); report them as a load problem with the file named.
        raise LoadError(
            f"{path}: malformed RIS ({type(exc).__name__}: {exc})",
            "RIS records start with 'TY  - ' and end with 'ER  - '; check the export",
            path=str(path),
        ) from exc
    starts = sum(1 for line in text.split("\n") if line.startswith("TY  -"))
    if entries and starts != len(entries):
        raise LoadError(
            f"{path}: {starts} records start with 'TY' but only {len(entries)} end with 'ER'",
            "the file is truncated or a record lacks its 'ER  - ' line; re-export it",
            path=str(path),
        )
    if not entries:
        raise LoadError(
            f"{path}: no RIS records found",
            "RIS records start with 'TY  - ' and end with 'ER  - ' (a file without 'ER' "
            "lines is truncated); pass --format if this is another format",
            path=str(path),
        )
    citations, skipped = collect(
        _citation(i, e, path) for i, e in enumerate(entries, start=1) if isinstance(e, dict)
    )
    return LoadResult(citations=citations, skipped=skipped)
