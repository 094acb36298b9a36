"""MEDLINE text (PubMed "Format: PubMed", ``.nbib``, ``.medline``, ``.txt``).

The format is line based: a 4-character tag padded with spaces, ``"- "``, then the value
(``"PMID- 12230038"``, ``"AU  - Mangalam H"``). Values longer than a line continue on
lines indented by six spaces; records are separated by blank lines and start at ``PMID``.

No maintained parser ships with the project's dependencies (Biopython's is a large
dependency for 60 lines), so this is a small strict one:

* continuation lines are joined with one space (NLM wraps only at spaces);
* repeated tags (``AU``, ``FAU``, ``PT``, ``MH``, ``AID`` …) accumulate in order;
* ``FAU`` ("Mangalam, Harry") and the ``AU`` after it ("Mangalam H") describe the same
  person: FAU gives family and given names, AU gives NLM's initials; ``CN`` is a
  collective author;
* the DOI comes from ``AID``/``LID`` values tagged ``[doi]``;
* a line that is neither a tag line nor a continuation makes the whole file a
  :class:`LoadError` (it is not MEDLINE text, or it is damaged).
"""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.errors import LoadError
from pipeline.ingest.loaders._common import (
    clean,
    collect,
    decode_text,
    make_author,
    make_citation,
    normalize_month,
    normalize_pmcid,
    parse_year,
    read_bytes,
    sections_from_text,
)
from pipeline.ingest.loaders.base import LoadResult, SkippedRecord
from pipeline.models.corpus import Author, Citation, SourceKind

_TAG_LINE = re.compile(r"^([A-Z][A-Z0-9]{1,3}) {0,3}- ?(.*)$")
_CONTINUATION = re.compile(r"^ {2,}\S")

Fields = list[tuple[str, str]]


def _parse_records(text: str, path: Path) -> list[tuple[int, Fields]]:
    """Split the text into records of ``(tag, value)`` pairs, with their first line."""
    records: list[tuple[int, Fields]] = []
    current: Fields = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not line.strip():
            if current:
                records.append((start, current))
                current = []
            continue
        match = _TAG_LINE.match(line)
        if match and not line.startswith(" "):
            tag, value = match.groups()
            if tag == "PMID" and current:  # a record without the blank separator line
                records.append((start, current))
                current = []
            if not current:
                start = number
            current.append((tag, value.strip()))
        elif _CONTINUATION.match(line) and current:
            tag, value = current[-1]
            current[-1] = (tag, f"{value} {line.strip()}")
        else:
            raise LoadError(
                f"{path}: line {number} is not a MEDLINE field or continuation: {line[:60]!r}",
                "MEDLINE lines look like 'TI  - Title' with continuations indented by six "
                "spaces; if this is not a MEDLINE/.nbib file pass the right --format",
                path=str(path),
                record=f"line {number}",
            )
    if current:
        records.append((start, current))
    return records


def _authors(fields: Fields) -> list[Author | None]:
    """Pair each FAU with the AU that follows it; lone AU/CN entries stand alone."""
    authors: list[Author | None] = []
    pending: tuple[str, str] | None = None  # (family, given) from a FAU awaiting its AU

    def flush(initials: str | None = None) -> None:
        nonlocal pending
        if pending is not None:
            authors.append(make_author(family=pending[0], given=pending[1], initials=initials))
            pending = None

    for tag, value in fields:
        if tag == "FAU":
            flush()
            family, _, given = value.partition(",")
            pending = (family.strip(), given.strip())
        elif tag == "AU":
            family, _, initials = value.rpartition(" ")
            if pending is not None and (not family or family == pending[0]):
                flush(initials or None)
            else:
                flush()
                if family and initials.isupper() and initials.isalpha():
                    authors.append(make_author(family=family, initials=initials))
                else:
                    authors.append(make_author(family=value))
        elif tag == "CN":
            flush()
            authors.append(make_author(collective=value))
    flush()
    return authors


def _tagged_id(values: list[str], kind: str) -> str | None:
    for value in values:
        if value.lower().endswith(f"[{kind}]"):
            return value[: -len(kind) - 2].strip()
    return None


def _citation(start: int, fields: Fields, path: Path) -> Citation | SkippedRecord:
    by_tag: dict[str, list[str]] = {}
    for tag, value in fields:
        by_tag.setdefault(tag, []).append(clean(value))

    def first(tag: str) -> str | None:
        values = by_tag.get(tag)
        return values[0] if values else None

    pmid = first("PMID")
    label = f"PMID {pmid}" if pmid else f"record at line {start}"
    date = first("DP") or ""
    date_parts = date.split()
    return make_citation(
        path,
        label,
        title=first("TI") or first("BTI") or first("TT") or "",
        authors=_authors(fields),
        sections=sections_from_text(("", first("AB"))),
        year=parse_year(date),
        month=normalize_month(date_parts[1]) if len(date_parts) > 1 else None,
        doi=_tagged_id(by_tag.get("AID", []) + by_tag.get("LID", []), "doi"),
        pmid=pmid,
        pmcid=normalize_pmcid(first("PMC")),
        pages=first("PG"),
        journal=first("JT"),
        journal_iso=first("TA"),
        volume=first("VI"),
        issue=first("IP"),
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid else None,
        publication_types=by_tag.get("PT", []),
        keywords=by_tag.get("OT", []),
        source_kind=SourceKind.ARTICLE,
    )


def load(path: Path) -> LoadResult:
    """Load every record of a MEDLINE text file."""
    text = decode_text(read_bytes(path), path)
    records = _parse_records(text, path)
    if not records:
        raise LoadError(
            f"{path}: no MEDLINE records found",
            "expected records starting with 'PMID- '",
            path=str(path),
        )
    citations, skipped = collect(_citation(start, fields, path) for start, fields in records)
    return LoadResult(citations=citations, skipped=skipped)
