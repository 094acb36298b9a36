"""Canonical citation JSONL: one JSON object per line, the project's native corpus format.

The record shape is that of ``shared/data/citations/open_citations.jsonl`` (pmid, doi,
title, journal, journal_iso, volume, issue, pages, year, month, authors, abstract,
publication_types, keywords, pmcid, licence_basis) plus the optional ``id``, ``text``,
``sections``, ``url``/``source_url``, ``topic``, ``source_kind`` and ``evidence_level``.

Design choices:

* An explicit ``id`` is kept verbatim: evaluation sets (BioASQ snippets) refer to it.
* A line that is not JSON is a whole-file error (the file is corrupt or not JSONL), but a
  well-formed record with an unusable value (no title and no body, an unknown
  ``source_kind``) is skipped with a reason so the rest of the corpus loads.
* Unknown keys are ignored so richer exports (``mesh``, ``language`` …) load unchanged.
* The loop does no per-record work beyond building the model, so the 20k-record BioASQ
  snippet corpus loads in well under a second.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pipeline.errors import LoadError
from pipeline.ingest.loaders._common import (
    clean_opt,
    decode_text,
    make_author,
    make_citation,
    normalize_month,
    normalize_pmcid,
    parse_author_string,
    parse_year,
    read_bytes,
    sections_from_text,
    split_publication_types,
)
from pipeline.ingest.loaders.base import LoadResult, SkippedRecord
from pipeline.models.corpus import Author, Citation, EvidenceLevel, Section, SourceKind


def _enum_value(raw: object, kind: type[SourceKind] | type[EvidenceLevel]) -> str | None:
    """Match ``"Systematic Review"``/``"systematic-review"`` to an enum value."""
    if raw is None or raw == "":
        return None
    key = str(raw).strip().lower().replace(" ", "_").replace("-", "_")
    values = {member.value for member in kind}
    if key in values:
        return key
    raise ValueError(f"unknown {kind.__name__} {raw!r} (expected one of {', '.join(values)})")


def _authors(raw: object) -> list[Author | None]:
    if not isinstance(raw, list):
        return []
    out: list[Author | None] = []
    for item in raw:
        if isinstance(item, str):
            out.append(parse_author_string(item))
        elif isinstance(item, dict):
            collective = item.get("collective") or item.get("literal")
            out.append(
                make_author(
                    family=clean_opt(item.get("family")),
                    given=clean_opt(item.get("given")),
                    initials=clean_opt(item.get("initials")),
                    collective=clean_opt(collective),
                )
            )
    return out


def _sections(record: dict[str, Any]) -> list[Section]:
    raw = record.get("sections")
    if isinstance(raw, list) and raw:
        pairs = [
            (str(s.get("heading") or ""), str(s.get("text") or ""))
            for s in raw
            if isinstance(s, dict)
        ]
        return sections_from_text(*pairs)
    abstract = record.get("abstract")
    text = record.get("text")
    return sections_from_text(
        ("", abstract if isinstance(abstract, str) else None),
        ("", text if isinstance(text, str) else None),
    )


def _str_list(raw: object) -> list[str]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        return []
    return [c for c in (clean_opt(v) for v in raw) if c]


def record_to_citation(record: dict[str, Any], path: Path, label: str) -> Citation | SkippedRecord:
    """Turn one canonical record into a citation (or a skip naming ``label``)."""
    try:
        kind = _enum_value(record.get("source_kind"), SourceKind)
        level = _enum_value(record.get("evidence_level"), EvidenceLevel)
    except ValueError as exc:
        return SkippedRecord(record=label, reason=str(exc))
    explicit_id = clean_opt(record.get("id"))
    try:
        return make_citation(
            path,
            label,
            explicit_id=explicit_id,
            title=clean_opt(record.get("title")) or "",
            authors=_authors(record.get("authors")),
            sections=_sections(record),
            year=parse_year(record.get("year")),
            doi=clean_opt(record.get("doi")),
            pmid=clean_opt(record.get("pmid")),
            pages=clean_opt(record.get("pages")),
            evidence=EvidenceLevel(level) if level else None,
            source_kind=SourceKind(kind) if kind else SourceKind.ARTICLE,
            journal=clean_opt(record.get("journal")),
            journal_iso=clean_opt(record.get("journal_iso")),
            month=normalize_month(record.get("month")),
            volume=clean_opt(record.get("volume")),
            issue=clean_opt(record.get("issue")),
            pmcid=normalize_pmcid(record.get("pmcid")),
            url=clean_opt(record.get("url")) or clean_opt(record.get("source_url")),
            publication_types=split_publication_types(_str_list(record.get("publication_types"))),
            keywords=_str_list(record.get("keywords")),
            licence_basis=clean_opt(record.get("licence_basis")),
            topic=clean_opt(record.get("topic")),
        )
    except ValidationError as exc:
        # Defensive: every field is cleaned above, but a record must never abort the file.
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return SkippedRecord(record=label, reason=f"invalid value for {where}: {first['msg']}")


def load(path: Path) -> LoadResult:
    """Load a canonical citation JSONL file (blank lines are allowed)."""
    text = decode_text(read_bytes(path), path, legacy=False)
    result = LoadResult()
    # split("\n"), not splitlines(): JSON strings may hold a raw U+2028, which
    # splitlines() would treat as a line break and so cut a record in two.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except RecursionError as exc:
            raise LoadError(
                f"{path}: line {number} is JSON nested too deeply to read",
                "records are flat objects; check that line",
                path=str(path),
                record=f"line {number}",
            ) from exc
        except json.JSONDecodeError as exc:
            raise LoadError(
                f"{path}: line {number} is not valid JSON ({exc.msg} at column {exc.colno})",
                "each line of a JSONL file must be one complete JSON object; fix or remove "
                "that line (a truncated last line usually means an interrupted export)",
                path=str(path),
                record=f"line {number}",
            ) from exc
        if not isinstance(record, dict):
            raise LoadError(
                f"{path}: line {number} is a JSON {type(record).__name__}, not an object",
                'each JSONL line must be an object like {"title": ..., "abstract": ...}; '
                "a JSON array of CSL items should be loaded with --format csl-json",
                path=str(path),
                record=f"line {number}",
            )
        item = record_to_citation(record, path, f"line {number}")
        if isinstance(item, Citation):
            result.citations.append(item)
        else:
            result.skipped.append(item)
    if not result.citations and not result.skipped:
        raise LoadError(
            f"{path}: no records found",
            "the file has no JSON lines; check that it is the right file",
            path=str(path),
        )
    return result
