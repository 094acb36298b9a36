"""``press ingest``: files → citations → passages → store + Chroma + BM25.

One file is the unit of work. A file whose fingerprint (sha256) is unchanged is skipped
without parsing. A changed file is parsed completely, chunked, and only the passages whose
ids are new are embedded; the vectors are written first and the file's rows are then
committed to the passage DB in one transaction, after which vectors of passages the
file no longer has are deleted. A crash at any point leaves at most vectors the store does
not know (deleted by the next run's reconcile) or a file whose new rows were not committed
(re-ingested by the next run, since its fingerprint was not recorded). So no file is ever
half-indexed, and a re-run after ``kill -9`` ends identical to a clean run.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pipeline.errors import LoadError, UnknownFormatError
from pipeline.index.hybrid import Index
from pipeline.index.passages import PassageRow
from pipeline.ingest.chunking import Chunker
from pipeline.ingest.loaders.detect import detect_format
from pipeline.ingest.loaders.dispatch import load_file
from pipeline.ingest.trust import in_trusted_folder, verified
from pipeline.models.corpus import Citation, Passage
from pipeline.resources import demo_corpus_dir

FileStatus = Literal["added", "updated", "unchanged", "failed", "skipped", "removed"]
EventFn = Callable[[str, int], None]

_DOC_NAMES = ("readme", "license", "licence", "notice", "changelog", "manifest")


@dataclass
class FileOutcome:
    """What happened to one file."""

    path: str
    status: FileStatus
    citations: int = 0
    added: int = 0
    removed: int = 0
    unchanged: int = 0
    messages: list[str] = field(default_factory=list)


@dataclass
class IngestReport:
    """The summary of one ingest run."""

    files: list[FileOutcome] = field(default_factory=list)
    embedded: int = 0
    repaired_deleted: int = 0
    repaired_embedded: int = 0
    corpus_version: str = ""
    seconds: float = 0.0

    @property
    def failed(self) -> list[FileOutcome]:
        """Files that could not be ingested."""
        return [f for f in self.files if f.status == "failed"]

    def total(self, attribute: str) -> int:
        """Sum of one numeric attribute over all files."""
        return sum(int(getattr(f, attribute)) for f in self.files)


def discover(paths: Iterable[Path]) -> list[tuple[Path, bool]]:
    """Expand folders into files; returns (file, named explicitly) in a stable order.

    Inside folders, hidden files and documentation (README, LICENSE, …) are left out.
    """
    found: list[tuple[Path, bool]] = []
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                relative = child.relative_to(path)
                if not child.is_file() or any(p.startswith(".") for p in relative.parts):
                    continue
                if child.name.lower().startswith(_DOC_NAMES):
                    continue
                found.append((child.resolve(), False))
        else:
            found.append((path.resolve(), True))
    return found


def fingerprint(path: Path) -> str:
    """sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ingest(
    paths: Iterable[Path],
    index: Index,
    *,
    fmt: str = "auto",
    prune: bool = False,
    force: bool = False,
    on_event: EventFn | None = None,
) -> IngestReport:
    """Ingest files and folders into ``index``; see the module docstring for guarantees."""
    started = time.perf_counter()
    emit = on_event or (lambda _event, _n: None)
    report = IngestReport()
    chunker = Chunker(index.settings.chunking)
    with index.writer_lock():
        deleted, embedded = index.reconcile(lambda n: emit("embedded", n))
        report.repaired_deleted, report.repaired_embedded = deleted, embedded
        targets = discover(paths)
        emit("files", len(targets))
        claimed: dict[str, str] = {}
        for path, explicit in targets:
            outcome = _ingest_file(path, explicit, index, chunker, fmt, force, claimed, emit)
            report.files.append(outcome)
            report.embedded += outcome.added
            emit("file_done", 1)
        if prune:
            seen = {str(p) for p, _ in targets}
            for stored in index.passage_db.files():
                if stored not in seen and not Path(stored).exists():
                    removed = index.passage_db.remove_file(stored)
                    index.vectors.delete(removed)
                    report.files.append(FileOutcome(stored, "removed", removed=len(removed)))
        stale = index.passage_db.get_meta("corpus_version") != index.passage_db.corpus_version()
        if stale or not (index.folder / "bm25").exists():
            index.refresh_lexical()
        report.corpus_version = index.passage_db.corpus_version()
    report.seconds = time.perf_counter() - started
    return report


def _ingest_file(
    path: Path,
    explicit: bool,
    index: Index,
    chunker: Chunker,
    fmt: str,
    force: bool,
    claimed: dict[str, str],
    emit: EventFn,
) -> FileOutcome:
    key = str(path)
    if not path.is_file():  # a device or FIFO (/dev/zero, a pipe) would be read forever
        return FileOutcome(
            key, "failed", messages=["not a regular file (a device, pipe or socket)"]
        )
    try:
        sha = fingerprint(path)
    except OSError as exc:
        return FileOutcome(key, "failed", messages=[f"cannot read file: {exc.strerror or exc}"])
    previous = index.passage_db.file_sha(key)
    if previous == sha and not force:
        return FileOutcome(key, "unchanged", unchanged=len(index.passage_db.passage_ids(key)))
    try:
        result = load_file(path, fmt)
    except UnknownFormatError as exc:
        status: FileStatus = "failed" if explicit else "skipped"
        return FileOutcome(key, status, messages=[exc.message])
    except LoadError as exc:
        where = f" (record {exc.record})" if exc.record else ""
        return FileOutcome(key, "failed", messages=[f"{exc.message}{where}"])
    messages = [f"skipped record {s.record}: {s.reason}" for s in result.skipped]
    citations: list[Citation] = []
    kept: set[str] = set()
    name = detect_format(path) if fmt == "auto" else fmt
    trusted = in_trusted_folder(path, [demo_corpus_dir(), *index.settings.ingest.trusted_folders])
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for loaded in result.citations:
        citation = verified(loaded, name, trusted).model_copy(update={"ingested_at": now})
        owner = claimed.get(citation.id) or index.passage_db.citation_owner(citation.id)
        if owner is not None and owner != key:
            messages.append(f"skipped duplicate citation {citation.id} (already in {owner})")
            continue
        if citation.id in kept:
            messages.append(f"skipped repeated citation {citation.id} within the file")
            continue
        claimed[citation.id] = key
        kept.add(citation.id)
        citations.append(citation)
    passages: dict[str, PassageRow] = {}
    by_id = {c.id: c for c in citations}
    for citation in citations:
        for passage in chunker.chunk(citation):
            passages.setdefault(passage.id, PassageRow(passage, by_id[citation.id]))
    known = index.passage_db.passage_ids(key)
    fresh = [item for pid, item in passages.items() if pid not in known]
    index.embed_and_upsert(fresh, lambda n: emit("embedded", n))
    ordered: list[Passage] = [item.passage for item in passages.values()]
    change = index.passage_db.replace_file(key, sha, citations, ordered)
    index.vectors.delete(change.removed)
    return FileOutcome(
        key,
        "added" if previous is None else "updated",
        citations=len(citations),
        added=len(change.added),
        removed=len(change.removed),
        unchanged=change.unchanged,
        messages=messages,
    )
