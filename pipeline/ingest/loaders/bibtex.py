"""BibTeX/BibLaTeX (``.bib``) files, parsed with :mod:`bibtexparser` v2.

The v2 API (``bibtexparser.parse_string`` + middlewares) is used with a parse stack of
LaTeX decoding (``{\\"o}`` → ö, ``--`` → –, braces dropped) followed by splitting the
``author`` field on ``and``. Decoding runs first because the v2 decoder only transforms
plain string fields, not author lists; the cost is that an ``and`` inside a braced
corporate name (``{Barnes and Noble}``) splits it, which is rare in biomedical exports.

Mapping: ``journal``/``journaltitle``/``booktitle``; ``number``/``issue``; ``year`` or
BibLaTeX ``date``; ``pmid`` (or ``eprint`` with ``eprinttype = pubmed``); ``pmcid``;
``keywords`` split on commas/semicolons. Entries the parser could not read (syntax
errors, duplicate keys) are reported as skipped records; a file in which nothing at all
parsed raises :class:`LoadError`.
"""

from __future__ import annotations

import re
from pathlib import Path

from bibtexparser import middlewares
from bibtexparser.entrypoint import parse_string
from bibtexparser.model import Entry

from pipeline.errors import LoadError
from pipeline.ingest.loaders._common import (
    clean_opt,
    collect,
    decode_text,
    make_citation,
    normalize_month,
    normalize_pmcid,
    parse_author_string,
    parse_year,
    read_bytes,
    sections_from_text,
)
from pipeline.ingest.loaders.base import LoadResult, SkippedRecord
from pipeline.models.corpus import Citation, SourceKind

_WEB_TYPES = {"online", "webpage", "electronic", "www"}
_POLICY_TYPES = {"legislation", "legal", "standard", "jurisdiction"}


def _field(entry: Entry, *names: str) -> str | None:
    fields = {k.lower(): v for k, v in entry.fields_dict.items()}
    for name in names:
        field = fields.get(name)
        if field is not None:
            text = clean_opt(field.value) if isinstance(field.value, str) else None
            if text:
                return text
    return None


def _authors(entry: Entry) -> list[str]:
    for field in entry.fields:
        if field.key.lower() == "author":
            value = field.value
            if isinstance(value, list):
                return [v for v in value if isinstance(v, str)]
            if isinstance(value, str):
                return [value]
    return []


def _citation(entry: Entry, path: Path) -> Citation | SkippedRecord:
    entry_type = entry.entry_type.lower()
    if entry_type in _WEB_TYPES:
        kind = SourceKind.WEB_PAGE
    elif entry_type in _POLICY_TYPES:
        kind = SourceKind.POLICY
    else:
        kind = SourceKind.ARTICLE
    pmid = _field(entry, "pmid")
    if not pmid and (_field(entry, "eprinttype") or "").lower() == "pubmed":
        pmid = _field(entry, "eprint")
    keywords = re.split(r"[;,]", _field(entry, "keywords") or "")
    return make_citation(
        path,
        f"@{entry.entry_type}{{{entry.key}}} (line {(entry.start_line or 0) + 1})",
        title=_field(entry, "title") or "",
        authors=[parse_author_string(a) for a in _authors(entry)],
        sections=sections_from_text(("", _field(entry, "abstract"))),
        year=parse_year(_field(entry, "year") or _field(entry, "date") or ""),
        month=normalize_month(_field(entry, "month")),
        doi=_field(entry, "doi"),
        pmid=pmid,
        pmcid=normalize_pmcid(_field(entry, "pmcid")),
        pages=_field(entry, "pages"),
        journal=_field(entry, "journal", "journaltitle", "booktitle"),
        journal_iso=_field(entry, "shortjournal", "journal_abbrev"),
        volume=_field(entry, "volume"),
        issue=_field(entry, "number", "issue"),
        url=_field(entry, "url"),
        keywords=[k.strip() for k in keywords if k.strip()],
        source_kind=kind,
    )


def load(path: Path) -> LoadResult:
    """Load every entry of a BibTeX file; unreadable entries become skipped records."""
    text = decode_text(read_bytes(path), path)
    library = parse_string(
        text,
        append_middleware=[middlewares.LatexDecodingMiddleware(), middlewares.SeparateCoAuthors()],
    )
    failed = [
        SkippedRecord(
            record=f"block at line {(block.start_line or 0) + 1}",
            reason=f"BibTeX parse error: {clean_opt(str(block.error)) or 'unreadable block'}",
        )
        for block in library.failed_blocks
    ]
    if not library.entries:
        detail = f" ({failed[0].reason})" if failed else ""
        raise LoadError(
            f"{path}: no BibTeX entries could be read{detail}",
            "BibTeX entries look like '@article{key, title = {...}, ...}'; check the braces "
            "or pass --format if this is another format",
            path=str(path),
        )
    citations, skipped = collect(_citation(e, path) for e in library.entries)
    return LoadResult(citations=citations, skipped=failed + skipped)
