"""What an ingested record may claim about itself: its evidence level and source kind.

A record cannot award itself a level above what its loader can verify from the source
format. Three cases, decided per file:

* **a trusted folder** (``ingest.trusted_folders``, configured by the editor: e.g. the
  folder of guidelines they collected; and always the demo corpus shipped with the program,
  whose records this project wrote and checked): the loader's level and source kind stand;
* **PubMed / MEDLINE** (``pubmed-xml``, ``medline``): the level comes from the record's NLM
  publication types alone (indexers assign them; a title cannot raise it);
* **anything else** (JSONL, RIS, BibTeX, CSL-JSON, JATS, Markdown, HTML, text, PDF): the
  level is ``other`` and a self-declared guideline or policy kind becomes ``other`` too,
  whatever the file says. A two-record JSONL file that calls itself a guideline is not one.

Every citation also records when it was ingested (``ingested_at``) beside its file
(``source_file``), so the review desk can show where each cited source came from.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pipeline.ingest.levels import level_for_publication_type
from pipeline.models.corpus import Citation, EvidenceLevel, SourceKind

VERIFIED_FORMATS = frozenset({"pubmed-xml", "medline"})
"""Formats whose publication types come from the NLM indexers."""


def in_trusted_folder(path: Path, folders: Iterable[Path]) -> bool:
    """True when ``path`` lies inside one of ``folders`` (both resolved)."""
    resolved = path.resolve()
    return any(resolved.is_relative_to(folder.resolve()) for folder in folders)


def verified(citation: Citation, fmt: str, trusted: bool) -> Citation:
    """``citation`` with the level and kind its source can vouch for (module docstring)."""
    if trusted:
        return citation
    if fmt in VERIFIED_FORMATS:
        levels = [
            level
            for level in map(level_for_publication_type, citation.publication_types)
            if level is not None
        ]
        level = min(levels, key=lambda lv: lv.rank) if levels else EvidenceLevel.OTHER
        return citation.model_copy(update={"evidence_level": level})
    kind = citation.source_kind
    if kind in (SourceKind.GUIDELINE, SourceKind.POLICY):
        kind = SourceKind.OTHER
    return citation.model_copy(update={"evidence_level": EvidenceLevel.OTHER, "source_kind": kind})
