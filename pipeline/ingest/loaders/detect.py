"""Which loader reads a file: detection by content, not by name.

:func:`detect_format` sniffs the first 64 KB (gunzipped first when the file is gzip data)
for signatures that are specific to one format: ``%PDF-``, a PubMed or JATS root element,
an HTML document, a JSON object or array, ``TY  -`` (RIS), ``PMID-`` (MEDLINE),
``@article{`` (BibTeX), Markdown syntax. Only when the content matches none of them (plain
prose, an HTML fragment) does the file extension decide, so a PubMed export saved as
``results.txt`` still loads as PubMed XML. Undecidable files raise
:class:`~pipeline.errors.UnknownFormatError` with the list of ``--format`` choices (the
names of :data:`~pipeline.ingest.loaders.registry.FORMATS`); unreadable ones raise
:class:`~pipeline.errors.LoadError`.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from pathlib import Path

from pipeline.errors import LoadError, UnknownFormatError
from pipeline.ingest.loaders._common import GZIP_MAGIC, unreadable
from pipeline.ingest.loaders.registry import FORMATS

_SNIFF_BYTES = 64 * 1024
_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xml": "pubmed-xml",
    ".nxml": "jats",
    ".nbib": "medline",
    ".medline": "medline",
    ".ris": "ris",
    ".bib": "bibtex",
    ".bibtex": "bibtex",
    ".json": "csl-json",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".pdf": "pdf",
}

_PUBMED_ROOT = re.compile(
    r"<(PubmedArticleSet|MedlineCitationSet|PubmedBookArticleSet|PubmedArticle|"
    r"MedlineCitation)[\s>]"
)
_JATS = re.compile(r"<!DOCTYPE article\b|<article\b[^>]*>\s*(<\?[^>]*\?>\s*)*<front>|JATS", re.I)
_HTML_DOC = re.compile(r"<!doctype html|<html[\s>]|<head[\s>]|<body[\s>]", re.I)
_HTML_FRAGMENT = re.compile(r"<(p|div|h[1-6]|ul|ol|table|section|article|span|a)[\s>]", re.I)
_RIS = re.compile(r"^TY  - ", re.M)
_MEDLINE = re.compile(r"^PMID- ?\d", re.M)
_BIBTEX = re.compile(r"^\s*@[A-Za-z]+\s*[{(]", re.M)
_MD_HEADING = re.compile(r"^#{1,6}\s+\S", re.M)
_MD_INLINE = re.compile(r"\[[^\]\n]+\]\([^)\s]+\)|\*\*\S[^*\n]*\*\*|__\S[^_\n]*__|^```", re.M)


def _sniff(path: Path) -> bytes:
    """The first bytes of the file, decompressed when it is gzip data."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
            if head[:2] == GZIP_MAGIC:
                handle.seek(0)
                try:
                    with gzip.GzipFile(fileobj=handle) as unzipped:
                        return unzipped.read(_SNIFF_BYTES)
                except (OSError, EOFError, zlib.error) as exc:
                    raise LoadError(
                        f"{path}: corrupt gzip data ({exc})",
                        "re-download the file or decompress it and check the result",
                        path=str(path),
                    ) from exc
            return head
    except OSError as exc:
        raise unreadable(path, exc) from exc


def _extension_format(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    if suffixes[-2:] == [".csl", ".json"]:
        return "csl-json"
    return _EXTENSIONS.get(suffixes[-1]) if suffixes else None


def _looks_binary(head: bytes) -> bool:
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut off by the sniff window is not evidence of binary.
        if exc.start < len(head) - 4:
            try:
                head.decode("cp1252")
            except UnicodeDecodeError:
                return True
    return False


def _json_format(text: str) -> str | None:
    if re.match(r"\[\s*[{\]]", text):  # "[1] Smith J ..." prose is not JSON
        return "csl-json"
    if not text.startswith("{"):
        return None
    first_line = text.split("\n", 1)[0].strip()
    try:
        json.loads(first_line)
    except (json.JSONDecodeError, RecursionError):
        # An incomplete first line inside a 64 KB window is still a (long) JSONL record;
        # a lone "{" starts a pretty-printed object, which only CSL-JSON allows.
        return "csl-json" if first_line == "{" else "jsonl"
    return "jsonl"


def _content_format(head: bytes) -> str | None:
    """The format the content itself proves, or ``None`` when it is ambiguous."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", errors="replace")
    else:
        text = head.decode("utf-8", errors="replace")
    text = text.lstrip("\ufeff \t\r\n")
    if text.startswith("<"):
        if _PUBMED_ROOT.search(text):
            return "pubmed-xml"
        if _JATS.search(text) and "<article" in text:
            return "jats"
        if _HTML_DOC.search(text[:4096]):
            return "html"
    if json_format := _json_format(text):
        return json_format
    if _RIS.search(text):
        return "ris"
    if _MEDLINE.search(text):
        return "medline"
    if _BIBTEX.search(text):
        return "bibtex"
    score = 2 * len(_MD_HEADING.findall(text)) + len(_MD_INLINE.findall(text))
    if score >= 2:
        return "markdown"
    if text.startswith("<") and _HTML_FRAGMENT.search(text[:4096]):
        return "html"
    return None


def detect_format(path: str | Path) -> str:
    """Name of the :data:`FORMATS` entry that can read ``path``, decided by content.

    The extension is consulted only when the content is ambiguous (plain text, an HTML
    fragment). Raises :class:`UnknownFormatError` (with the ``--format`` choices as the
    hint) for binary or otherwise unrecognisable files and :class:`LoadError` for
    unreadable ones.
    """
    path = Path(path)
    head = _sniff(path)
    if not head.strip():
        raise LoadError(
            f"{path}: file is empty",
            "remove the file from the corpus or fill it with records",
            path=str(path),
        )
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if _looks_binary(head):
        raise UnknownFormatError(
            f"{path}: cannot tell the file's format (binary data that is not PDF or gzip)",
            f"pass --format with one of: {', '.join(FORMATS)}",
            path=str(path),
        )
    found = _content_format(head)
    if found:
        return found
    by_extension = _extension_format(path)
    if by_extension:
        return by_extension
    return "text"
