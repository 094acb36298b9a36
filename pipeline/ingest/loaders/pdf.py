"""PDF documents, read with :mod:`pypdf` (text layer only; scanned PDFs need OCR first).

Steps and why:

* **Metadata.** ``/Title`` is the title unless it is empty or a placeholder ("untitled",
  "Microsoft Word - x.docx"); otherwise the first text line is. ``/Author`` split on
  ``;`` gives authors (an organisation name becomes a collective author). A DOI comes
  from ``/Subject`` or the first page's text, a URL from ``/Subject``. PDF dates are
  not used as publication years: they record when the file was made, not published.
* **Lines → prose.** Page text is split into lines; a line ending in a hyphen is joined
  to the next. Whether the hyphen stays is decided from the document itself: if the
  hyphenated form occurs elsewhere in the text ("hypothalamic-pituitary") it is kept,
  otherwise it was a typesetting break and is dropped ("fore-" + "brain" → "forebrain").
  Bare page numbers are dropped.
* **Sections.** Lines that are exactly a common section name (Abstract, Methods,
  Results, …, optionally numbered) or a short question line (FAQ-style pages) start a
  section. Everything from a "References"/"Bibliography" heading up to the next section
  heading is dropped: reference entries are other works' titles and would pollute
  retrieval.
* ``source_kind`` is ARTICLE when a DOI was found, WEB_PAGE when only a URL was, else
  OTHER.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from pypdf import PdfReader

from pipeline.errors import LoadError
from pipeline.ingest.loaders._common import (
    clean,
    make_citation,
    parse_author_string,
    read_bytes,
)
from pipeline.ingest.loaders.base import LoadResult, SkippedRecord
from pipeline.models.corpus import Author, Citation, Section, SourceKind

_SECTION_NAMES = (
    "abstract|summary|background|introduction|methods?|materials and methods|"
    "patients and methods|methodology|results|findings|discussion|conclusions?|"
    "results and discussion|limitations|recommendations|acknowledge?ments?|funding|"
    "appendix( [a-z0-9]+)?|supplementary material|references|bibliography|"
    "literature cited|works cited|key points|keywords|abbreviations"
)
_HEADING = re.compile(rf"^(?:\d{{1,2}}(?:\.\d{{1,2}})*\.?\s+)?({_SECTION_NAMES})\s*:?$", re.I)
_REFERENCES = re.compile(r"^(references|bibliography|literature cited|works cited)$", re.I)
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+)")
_PLACEHOLDER_TITLE = re.compile(
    r"^(untitled|microsoft word\b|document\d*$|\S+\.(docx?|pdf)$)", re.I
)


def _read(path: Path) -> tuple[list[str], dict[str, str]]:
    data = read_bytes(path)
    if b"%PDF-" not in data[:1024]:
        # Checked here so pypdf does not log a warning for every non-PDF it is handed.
        raise LoadError(
            f"{path}: not a PDF (no %PDF- header)",
            "pass --format with the file's real format (or --format auto)",
            path=str(path),
        )
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError(
                f"{path}: PDF is encrypted",
                "save an unencrypted copy (e.g. `qpdf --decrypt in.pdf out.pdf`)",
                path=str(path),
            )
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        meta = {str(k).lstrip("/").lower(): clean(str(v)) for k, v in (info or {}).items() if v}
    except LoadError:
        raise
    except Exception as exc:  # pypdf raises many exception types on damaged input
        raise LoadError(
            f"{path}: cannot read PDF ({type(exc).__name__}: {exc})",
            "the file is damaged or not a PDF; re-export it, or pass --format if it is "
            "another kind of file",
            path=str(path),
        ) from exc
    return pages, meta


def _lines(pages: list[str]) -> list[str]:
    lines = []
    for page in pages:
        for raw in page.splitlines():
            line = clean(raw)
            if line and not re.fullmatch(r"(page )?\d{1,4}( of \d{1,4})?", line, re.I):
                lines.append(line)
    return lines


def _join(lines: list[str], vocabulary: set[str]) -> str:
    """Join wrapped lines into prose, resolving end-of-line hyphens against the text."""
    out = ""
    for line in lines:
        if out.endswith("-") and re.search(r"[A-Za-z]-$", out) and line[:1].isalpha():
            head = re.search(r"([\w-]+)-$", out)
            tail = re.match(r"[\w-]+", line)
            hyphenated = f"{head.group(1)}-{tail.group(0)}".lower() if head and tail else ""
            joined = hyphenated.replace("-", "", 1) if hyphenated else ""
            keep = hyphenated in vocabulary and joined not in vocabulary
            out = (out if keep else out[:-1]) + line
        else:
            out = f"{out} {line}" if out else line
    return out


def _ends_sentence(line: str | None) -> bool:
    return line is None or line.endswith((".", "?", "!", ")", ":"))


def _sections(lines: list[str]) -> list[Section]:
    vocabulary = {w.lower() for line in lines for w in re.findall(r"[\w-]+", line)}
    sections: list[Section] = []
    heading = ""
    buffer: list[str] = []
    skipping = False
    previous: str | None = None
    for line in lines:
        match = _HEADING.match(line)
        new_heading: str | None = match.group(1) if match else None
        if new_heading is None and line.endswith("?") and len(line) <= 100:
            # FAQ-style pages use questions as headings; a long one wraps onto two lines.
            if _ends_sentence(previous):
                new_heading = line
            elif (
                buffer
                and len(buffer[-1]) + len(line) <= 140
                and (len(buffer) == 1 or _ends_sentence(buffer[-2]))
            ):
                new_heading = f"{buffer.pop()} {line}"
        if new_heading is not None:
            if buffer and not skipping:
                sections.append(Section(heading=heading, text=_join(buffer, vocabulary)))
            heading = new_heading
            skipping = bool(match and _REFERENCES.match(new_heading))
            buffer = []
        else:
            buffer.append(line)
        previous = line
    if buffer and not skipping:
        sections.append(Section(heading=heading, text=_join(buffer, vocabulary)))
    return [s for s in sections if s.text]


def _authors(meta: dict[str, str]) -> list[Author | None]:
    names = meta.get("author", "")
    return [parse_author_string(n) for n in names.split(";") if n.strip()]


def load(path: Path) -> LoadResult:
    """Load a PDF's text layer as one citation."""
    pages, meta = _read(path)
    lines = _lines(pages)
    title = meta.get("title", "")
    if not title or _PLACEHOLDER_TITLE.match(title):
        title = lines[0] if lines else ""
    subject = meta.get("subject", "")
    doi_match = _DOI.search(subject) or _DOI.search("\n".join(pages[:1]))
    doi = doi_match.group(1).rstrip(".,;)") if doi_match else None
    url = subject if subject.startswith(("http://", "https://")) else None
    if doi:
        kind = SourceKind.ARTICLE
    elif url:
        kind = SourceKind.WEB_PAGE
    else:
        kind = SourceKind.OTHER
    sections = _sections(lines)
    if not sections and not title:
        return LoadResult(
            skipped=[
                SkippedRecord(
                    record=path.name,
                    reason="PDF has no text layer (scanned?); run OCR (e.g. ocrmypdf) first",
                )
            ]
        )
    made = make_citation(
        path,
        path.name,
        title=title,
        authors=_authors(meta),
        sections=sections,
        doi=doi,
        url=url,
        keywords=[k.strip() for k in re.split(r"[;,]", meta.get("keywords", "")) if k.strip()],
        source_kind=kind,
    )
    if isinstance(made, Citation):
        return LoadResult(citations=[made])
    return LoadResult(skipped=[made])
