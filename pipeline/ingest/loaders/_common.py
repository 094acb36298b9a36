"""Helpers shared by the format loaders: reading, decoding, cleaning and building citations.

Every loader funnels its records through :func:`make_citation` so the same rules apply
whatever the format: whitespace is collapsed, DOIs are normalised, page ranges are
written out in full, the id comes from :func:`pipeline.models.corpus.citation_id` (a canonical
record's own ``id`` wins; an unauthored record hashes its URL's host as the "author"),
the evidence level is derived when missing, and a record with neither a title nor a body
becomes a :class:`SkippedRecord` instead of a citation.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipeline.cite.references import expand_page_range
from pipeline.errors import LoadError
from pipeline.ingest.levels import evidence_level
from pipeline.ingest.loaders.base import SkippedRecord
from pipeline.models.corpus import (
    Author,
    Citation,
    EvidenceLevel,
    Section,
    SourceKind,
    citation_id,
    normalize_doi,
)

GZIP_MAGIC = b"\x1f\x8b"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_YEAR_RE = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d|21\d\d)(?!\d)")
# C0/C1 control characters other than tab/newline/carriage return/form feed: a decode
# that yields these has almost certainly picked the wrong codec (or the file is binary).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


# --------------------------------------------------------------------------- reading


def unreadable(path: Path, exc: OSError) -> LoadError:
    """The error for a file the operating system will not let a loader read."""
    return LoadError(
        f"{path}: cannot read file ({exc.strerror or exc})",
        "check that the path exists and is a readable file",
        path=str(path),
    )


def read_bytes(path: Path) -> bytes:
    """Read a whole file, gunzipping it when it starts with the gzip magic number.

    Raises :class:`LoadError` for unreadable, corrupt-gzip or empty files.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise unreadable(path, exc) from exc
    if data[:2] == GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise LoadError(
                f"{path}: corrupt or truncated gzip data ({exc})",
                "re-download the file or decompress it yourself and check the result",
                path=str(path),
            ) from exc
    if not data.strip():
        raise LoadError(
            f"{path}: file is empty",
            "remove the file from the corpus or fill it with records",
            path=str(path),
        )
    return data


def decode_text(data: bytes, path: Path, *, legacy: bool = True) -> str:
    """Decode bytes as UTF-8 (BOM or not), UTF-16 with a BOM, then cp1252/latin-1.

    ``legacy=False`` stops after UTF-8, for formats such as JSON that must be UTF-8.
    Raises :class:`LoadError` when no codec gives plausible text (binary data).
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        codecs: Sequence[str] = ("utf-16",)
    elif data.startswith(b"\xef\xbb\xbf"):
        codecs = ("utf-8-sig",)
    else:
        codecs = ("utf-8", "cp1252", "latin-1") if legacy else ("utf-8",)
    for codec in codecs:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        # UTF-8 that decodes cleanly is trusted; a legacy codec must also look like text.
        if codec in ("utf-8", "utf-8-sig", "utf-16"):
            if "\x00" in text:
                break
            return text
        if not _CONTROL_RE.search(text):
            return text
    tried = " then ".join(codecs)
    raise LoadError(
        f"{path}: cannot decode the file as text (tried {tried})",
        "the file is binary or in an unexpected encoding; convert it to UTF-8 "
        "(e.g. `iconv -f <encoding> -t utf-8`) or pass the right --format",
        path=str(path),
    )


# --------------------------------------------------------------------------- cleaning


def clean(text: str | None) -> str:
    """Collapse every run of whitespace (incl. no-break spaces) to one space and strip."""
    if not text:
        return ""
    return " ".join(text.split())


def clean_opt(text: object) -> str | None:
    """:func:`clean` for optional scalar fields: numbers become strings, blanks ``None``."""
    if text is None or isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        text = str(text)
    if not isinstance(text, str):
        return None
    return clean(text) or None


def clean_paragraphs(text: str) -> str:
    """Collapse whitespace inside paragraphs but keep blank-line paragraph breaks."""
    paras = (clean(p) for p in re.split(r"\n\s*\n", text))
    return "\n\n".join(p for p in paras if p)


def parse_year(value: object) -> int | None:
    """The first plausible four-digit year in ``value`` (``"1976 Nov-Dec"`` → 1976)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1500 <= value <= 2199 else None
    if not isinstance(value, str):
        return None
    match = _YEAR_RE.search(value)
    return int(match.group(1)) if match else None


def normalize_month(value: object) -> str | None:
    """``"04"``/``"4"``/``"April"`` → ``"Apr"``; ranges like ``"Nov-Dec"`` are kept."""
    text = clean_opt(value)
    if text is None:
        return None
    if text.isdigit():
        number = int(text)
        return MONTHS[number - 1] if 1 <= number <= 12 else None
    lowered = text.lower()
    for month in MONTHS:
        if lowered == month.lower() or (text.isalpha() and lowered.startswith(month.lower())):
            return month
    return text


def normalize_pages(value: object) -> str | None:
    """Write page ranges one way: ASCII hyphen, no spaces, abbreviated end pages expanded.

    MEDLINE abbreviates ranges (``"1870-6"``) while XML and CSL often spell them out; all
    loaders expand them (``"1870-1876"``) so the same article compares equal everywhere.
    """
    text = clean_opt(value)
    if text is None:
        return None
    text = expand_page_range(re.sub(r"\s*(?:--|[‐-―−])\s*", "-", text))
    match = re.fullmatch(r"(\d+)-(\1)", text)
    return match.group(1) if match else text


def normalize_pmid(value: object) -> str | None:
    """A PMID as a digit string, or ``None`` when the value is not one."""
    text = clean_opt(value)
    return text if text and text.isdigit() else None


def normalize_pmcid(value: object) -> str | None:
    """``"3166277"`` or ``"PMC3166277"`` → ``"PMC3166277"``."""
    text = clean_opt(value)
    if not text:
        return None
    digits = text.upper().removeprefix("PMC")
    return f"PMC{digits}" if digits.isdigit() else None


# --------------------------------------------------------------------------- authors

_INITIALS_RE = re.compile(r"^[A-Z]{1,4}$")
_COLLECTIVE_RE = re.compile(
    r"\b(institute|department|organi[sz]ation|society|centers?|centres?|group|committee|"
    r"association|consortium|council|agency|collaboration|network|foundation|college|"
    r"academy|board|task force|working party|investigators|university|ministry)\b",
    re.I,
)


def initials_from_given(given: str | None) -> str | None:
    """NLM-style initials from given names.

    ``"Christopher I"`` → ``CI``; a single hyphenated name counts twice (``"Tian-Yi"`` →
    ``TY``) but a hyphenated part of several names once (``"Anne-Marie K"`` → ``AK``),
    which is what PubMed does. Given names that already are initials (``"MC"``) pass.
    """
    text = clean(given).replace(".", " ")
    if not text:
        return None
    words = text.split()
    if len(words) == 1 and _INITIALS_RE.match(words[0]):
        return words[0]
    if len(words) == 1 and "-" in words[0]:
        parts = [p for p in words[0].split("-") if p]
        return "".join(p[0].upper() for p in parts[:2]) or None
    return "".join(w[0].upper() for w in words if w[0].isalpha()) or None


def make_author(
    family: str | None = None,
    given: str | None = None,
    initials: str | None = None,
    collective: str | None = None,
) -> Author | None:
    """An :class:`Author` with cleaned parts and derived initials; ``None`` when empty."""
    if clean(collective):
        return Author(collective=clean(collective))
    fam, giv = clean(family) or None, clean(given) or None
    if not fam and not giv:
        return None
    inits = clean(initials).replace(".", "").replace(" ", "") or initials_from_given(giv)
    return Author(family=fam, given=giv, initials=inits or None)


def parse_author_string(name: str) -> Author | None:
    """Parse ``"Dalakas MC"``, ``"Dalakas, Marinos C"`` or ``"Marinos C. Dalakas"``.

    Names that read like organisations become collective authors.
    """
    text = clean(name)
    if not text:
        return None
    if "," in text:
        family, _, given = text.partition(",")
        return make_author(family=family, given=given)
    words = text.split()
    if len(words) > 4 or (len(words) > 1 and _COLLECTIVE_RE.search(text)):
        return Author(collective=text)
    if len(words) >= 2 and _INITIALS_RE.match(words[-1]):
        # Vancouver style: family name(s) first, initials last.
        return make_author(family=" ".join(words[:-1]), initials=words[-1])
    if len(words) == 1:
        return make_author(family=words[0])
    return make_author(family=words[-1], given=" ".join(words[:-1]))


# --------------------------------------------------------------------------- citations


def sections_from_text(*texts: tuple[str, str | None]) -> list[Section]:
    """Sections from ``(heading, text)`` pairs, dropping empty texts."""
    out = []
    for heading, text in texts:
        body = clean_paragraphs(text or "")
        if body:
            out.append(Section(heading=clean(heading), text=body))
    return out


def split_publication_types(values: Iterable[object]) -> list[str]:
    """Flatten publication-type values, splitting ``"A; B"`` and dropping duplicates."""
    out: list[str] = []
    for value in values:
        if not isinstance(value, str):
            continue
        for part in value.split(";"):
            item = clean(part)
            if item and item not in out:
                out.append(item)
    return out


def make_citation(
    path: Path,
    record: str,
    *,
    explicit_id: str | None = None,
    title: str = "",
    authors: Sequence[Author | None] = (),
    sections: Sequence[Section] = (),
    year: int | None = None,
    doi: str | None = None,
    pmid: str | None = None,
    pages: str | None = None,
    evidence: EvidenceLevel | None = None,
    source_kind: SourceKind = SourceKind.ARTICLE,
    **fields: Any,
) -> Citation | SkippedRecord:
    """Build a citation with the project's identity and evidence rules, or a skip.

    ``record`` names the record in skip reasons (``"line 12"``, ``"PMID 123"``).
    """
    title = clean(title)
    kept_sections = [s for s in sections if s.text.strip()]
    if not title and not kept_sections:
        return SkippedRecord(record=record, reason="record has neither a title nor a body")
    people = [a for a in authors if a is not None]
    first_author = None
    if people:
        first_author = people[0].family or people[0].collective
    elif isinstance(fields.get("url"), str):
        # Unauthored web pages ("Stiff person syndrome" on GARD and on NINDS) would share
        # a title-only hash; the site they came from tells them apart.
        first_author = urlsplit(fields["url"]).hostname
    norm_doi = normalize_doi(doi)
    norm_pmid = normalize_pmid(pmid)
    cid = explicit_id or citation_id(
        pmid=norm_pmid, doi=norm_doi, title=title, year=year, first_author=first_author
    )
    citation = Citation(
        id=cid,
        title=title,
        authors=people,
        sections=kept_sections,
        year=year,
        doi=norm_doi,
        pmid=norm_pmid,
        pages=normalize_pages(pages),
        source_kind=source_kind,
        evidence_level=evidence,
        source_file=str(path),
        **fields,
    )
    if citation.evidence_level is None:
        citation.evidence_level = evidence_level(citation)
    return citation


def collect(
    items: Iterable[Citation | SkippedRecord],
) -> tuple[list[Citation], list[SkippedRecord]]:
    """Split a stream of :func:`make_citation` results into citations and skips."""
    citations: list[Citation] = []
    skipped: list[SkippedRecord] = []
    for item in items:
        if isinstance(item, Citation):
            citations.append(item)
        else:
            skipped.append(item)
    return citations, skipped
