"""Corpus models: citations, their passages, evidence levels and the identity rules.

Identity rules live here so every loader derives ids the same way: a citation's id is
``pmid:<PMID>``, else ``doi:<doi>``, else ``h:<hash of normalized title+year+first author>``;
an explicit ``id`` in a canonical JSONL record wins (evaluation sets refer to it). A
passage's id is a hash of (citation id, passage text), so unchanged text keeps its id and
re-ingesting an unchanged corpus embeds nothing.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator


class EvidenceLevel(StrEnum):
    """Strength of a source's design, strongest first (DESIGN §3 "Evidence levels")."""

    GUIDELINE = "guideline"
    SYSTEMATIC_REVIEW = "systematic_review"
    RCT = "rct"
    OBSERVATIONAL = "observational"
    CASE_REPORT = "case_report"
    OTHER = "other"

    @property
    def rank(self) -> int:
        """1 for the strongest level, 6 for the weakest."""
        return list(EvidenceLevel).index(self) + 1

    @property
    def label(self) -> str:
        """Human-readable name shown in articles and reference lists."""
        return _LEVEL_LABELS[self]


_LEVEL_LABELS = {
    EvidenceLevel.GUIDELINE: "Guideline / consensus",
    EvidenceLevel.SYSTEMATIC_REVIEW: "Systematic review / meta-analysis",
    EvidenceLevel.RCT: "Randomized controlled trial",
    EvidenceLevel.OBSERVATIONAL: "Cohort / case-control study",
    EvidenceLevel.CASE_REPORT: "Case series / case report",
    EvidenceLevel.OTHER: "Narrative review / other",
}


class SourceKind(StrEnum):
    """What kind of document a citation came from; used for filtering and levels."""

    ARTICLE = "article"
    FULL_TEXT = "full_text"
    GUIDELINE = "guideline"
    WEB_PAGE = "web_page"
    TRIAL_REGISTRY = "trial_registry"
    POLICY = "policy"
    OTHER = "other"


class Author(BaseModel):
    """One author: a person (family/given/initials) or a collective name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    family: str | None = None
    given: str | None = None
    initials: str | None = None
    collective: str | None = None

    @property
    def display(self) -> str:
        """Vancouver-style short name: ``Dalakas MC`` or the collective's name."""
        if self.collective:
            return self.collective
        initials = self.initials or "".join(p[0] for p in (self.given or "").split() if p)
        return f"{self.family or ''} {initials}".strip()


class Section(BaseModel):
    """A titled part of a document body (abstract section, guideline heading, JATS sec)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    heading: str = ""
    text: str


class Citation(BaseModel):
    """One source document with its bibliographic metadata and body text.

    ``sections`` carries the body; loaders that only have flat text produce one section
    with an empty heading. ``evidence_level`` is derived by :mod:`pipeline.ingest.levels`
    when a loader does not set it.
    """

    model_config = ConfigDict(extra="forbid")

    id: str
    title: str = ""
    authors: list[Author] = Field(default_factory=list)
    journal: str | None = None
    journal_iso: str | None = None
    year: int | None = None
    month: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    pmid: str | None = None
    doi: str | None = None
    pmcid: str | None = None
    url: str | None = None
    publication_types: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    sections: list[Section] = Field(default_factory=list)
    source_kind: SourceKind = SourceKind.ARTICLE
    evidence_level: EvidenceLevel | None = None
    licence_basis: str | None = None
    topic: str | None = None
    source_file: str | None = None
    ingested_at: str | None = None

    @property
    def body(self) -> str:
        """All section texts joined with blank lines."""
        return "\n\n".join(s.text for s in self.sections if s.text.strip())


def strip_doi_prefix(doi: str | None) -> str | None:
    """A DOI without URL/``doi:`` prefixes, case kept; ``None`` for empty input."""
    if not doi:
        return None
    cleaned = re.sub(r"^(https?://(dx\.)?doi\.org/|doi:\s*)", "", doi.strip(), flags=re.I)
    return cleaned.strip() or None


def normalize_doi(doi: str | None) -> str | None:
    """Lower-case a DOI and strip URL/``doi:`` prefixes; ``None`` for empty input."""
    stripped = strip_doi_prefix(doi)
    return stripped.lower() if stripped else None


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def short_hash(*parts: str, length: int = 16) -> str:
    """Stable hex digest of the parts (sha256, truncated) used for ids and versions."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:length]


def citation_id(
    *,
    pmid: str | None = None,
    doi: str | None = None,
    title: str = "",
    year: int | None = None,
    first_author: str | None = None,
) -> str:
    """Derive a citation id: PMID, else DOI, else a hash of title+year+first author."""
    if pmid and pmid.strip():
        return f"pmid:{pmid.strip()}"
    norm_doi = normalize_doi(doi)
    if norm_doi:
        return f"doi:{norm_doi}"
    return "h:" + short_hash(_fold(title), str(year or ""), _fold(first_author or ""))


def passage_id(citation: str, text: str) -> str:
    """A passage's id: a hash of its citation id and its exact text."""
    return "p:" + short_hash(citation, text, length=20)


class Passage(BaseModel):
    """A chunk of one citation's body, the unit that is embedded and retrieved."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    citation_id: str
    text: str
    section: str = ""
    ordinal: int = 0
    token_count: int = 0

    @model_validator(mode="before")
    @classmethod
    def _accept_own_id(cls, data: Any) -> Any:
        """Let a dumped passage load back: its ``id`` is accepted when it matches the text."""
        if isinstance(data, dict) and "id" in data:
            data = dict(data)
            given = data.pop("id")
            if given != passage_id(str(data.get("citation_id", "")), str(data.get("text", ""))):
                raise ValueError(f"passage id {given!r} does not match its citation and text")
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def id(self) -> str:
        """Content-derived id (see :func:`passage_id`)."""
        return passage_id(self.citation_id, self.text)
