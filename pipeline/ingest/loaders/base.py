"""The contract every format loader fulfils.

A loader is a function ``load(path) -> LoadResult``. It parses the whole file before
returning, so a file is either loaded or rejected, never half-read. A problem with the
file as a whole (not parseable, wrong encoding, empty) raises
:class:`~pipeline.errors.LoadError`; a problem with one record (no title and no body, a
deleted citation) is recorded in ``LoadResult.skipped`` and the rest of the file loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pipeline.models.corpus import Citation


@dataclass
class SkippedRecord:
    """A record left out of a file that otherwise loaded, and why."""

    record: str
    reason: str


@dataclass
class LoadResult:
    """What one file yielded: citations plus the records that were skipped."""

    citations: list[Citation] = field(default_factory=list)
    skipped: list[SkippedRecord] = field(default_factory=list)


class Loader(Protocol):
    """A format loader: one file in, a :class:`LoadResult` out."""

    def __call__(self, path: Path) -> LoadResult:
        """Parse ``path`` completely or raise :class:`~pipeline.errors.LoadError`."""
        ...
