"""Typed models passed between the pipeline's stages.

Each stage takes the previous stage's model and returns its own (DESIGN §1)::

    corpus file ──load──▶ Citation ──chunk──▶ Passage ──index──▶ (Chroma + BM25)

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
from typing import Any, Literal

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


class ScoredPassage(BaseModel):
    """A retrieved passage with its citation and the scores that ranked it."""

    model_config = ConfigDict(extra="forbid")

    passage: Passage
    citation: Citation
    score: float = Field(description="Fused score (higher is better) used for ranking.")
    dense_similarity: float | None = Field(None, description="Cosine similarity, if known.")
    lexical_score: float | None = Field(None, description="BM25 score, if matched.")


class Evidence(BaseModel):
    """One numbered source in an evidence set: a citation and its retrieved passages."""

    model_config = ConfigDict(extra="forbid")

    number: int
    citation: Citation
    passages: list[ScoredPassage]

    @property
    def score(self) -> float:
        """The best fused score among the passages."""
        return max(p.score for p in self.passages)


class SearchFilters(BaseModel):
    """Metadata filters applied to both the dense and the lexical search."""

    model_config = ConfigDict(extra="forbid")

    year_from: int | None = None
    year_to: int | None = None
    min_level: EvidenceLevel | None = Field(
        None, description="Keep sources at least this strong (e.g. 'rct' keeps 1-3)."
    )
    source_kinds: list[SourceKind] = Field(default_factory=list)


class EvidenceSet(BaseModel):
    """The evidence handed to the drafter: sources numbered 1..n, packed into a budget."""

    model_config = ConfigDict(extra="forbid")

    question: str
    items: list[Evidence] = Field(default_factory=list)
    filters: SearchFilters = Field(default_factory=SearchFilters)
    method: str = "hybrid"
    corpus_version: str = ""
    token_count: int = 0
    best_similarity: float | None = None
    sufficient: bool = True

    def by_number(self) -> dict[int, Evidence]:
        """Evidence items keyed by their number."""
        return {item.number: item for item in self.items}


Verdict = Literal["yes", "no", "maybe", "uncertain"]
Audience = Literal["clinician", "patient"]


class Bullet(BaseModel):
    """One claim in a section; ``citations`` are evidence numbers that support it."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="One sentence or two; no citation markers inside.")
    citations: list[int] = Field(
        default_factory=list, description="Evidence numbers (from the EVIDENCE list) supporting it."
    )


class DraftSection(BaseModel):
    """An H2 section of the article: an optional lead-in line and bullets."""

    model_config = ConfigDict(extra="forbid")

    heading: str
    lead: str | None = Field(None, description="Optional one-line introduction to the bullets.")
    bullets: list[Bullet] = Field(default_factory=list)


class Draft(BaseModel):
    """The structured article a drafter produces (LLM structured output or extractive)."""

    model_config = ConfigDict(extra="forbid")

    headline: str = Field(description="One-line bold verdict headline.")
    summary: str = Field(description="Two or three sentences answering the question.")
    sections: list[DraftSection] = Field(default_factory=list)
    bottom_line: str = Field(description="The practical conclusion in two or three sentences.")
    related_questions: list[str] = Field(default_factory=list)
    insufficient_evidence: bool = Field(
        False, description="True when the evidence given does not answer the question."
    )
    verdict: Verdict | None = Field(
        None, description="yes / no / maybe for yes-no questions; 'uncertain' or null otherwise."
    )


class Usage(BaseModel):
    """Tokens (and cost, where a price table is configured) spent by one drafting call."""

    model_config = ConfigDict(extra="forbid")

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    calls: int = 0
    counted_locally: bool = Field(
        False, description="True when the server reported no usage and tiktoken counted."
    )


class Provenance(BaseModel):
    """Everything needed to explain and rebuild an article."""

    model_config = ConfigDict(extra="forbid")

    drafter: Literal["llm", "extractive"]
    model: str | None = None
    prompt_versions: dict[str, str] = Field(default_factory=dict)
    prompts_dir: str = Field(
        "", description="Where the prompts came from: 'packaged' or the prompts.dir folder."
    )
    corpus_version: str = ""
    settings_hash: str = ""
    embedding_model: str = ""
    created_at: str = ""
    usage: Usage = Field(default_factory=Usage)
    timings_s: dict[str, float] = Field(default_factory=dict)
    placeholders: dict[str, str] = Field(
        default_factory=dict,
        description="Draft fields the drafter could not write (name → the placeholder text "
        "it left); an article is not publishable while a field still holds it.",
    )


class Reference(BaseModel):
    """One numbered entry of an article's reference list."""

    model_config = ConfigDict(extra="forbid")

    number: int
    citation_id: str
    citation: Citation
    text: str = Field(description="Formatted reference (AMA/Vancouver style).")
    evidence_level: EvidenceLevel
    url: str | None = None


ClaimField = Literal["bullet", "summary", "bottom_line", "headline", "related"]
"""Where a checked claim sits in a draft."""

FIELD_LABELS: dict[str, str] = {
    "bullet": "Bullet",
    "headline": "Headline",
    "summary": "Summary",
    "bottom_line": "Bottom Line",
    "related": "Related Questions",
}
"""How a claim's place is named to a reader (flags outside the bullets)."""


class BulletCheck(BaseModel):
    """The citation check's verdict on one claim: a bullet, or a sentence of another field.

    A bullet is located by ``section`` and ``bullet`` (0-based); any other ``field`` by
    ``sentence`` (the sentence of the summary or Bottom Line, the related question's
    index; 0 for the headline), with ``section`` and ``bullet`` left at -1 and the
    sentence in ``text``. ``better`` is the number an editor would cite a source by that
    supports the bullet better than its cited ones (:mod:`pipeline.cite.claims`). Revisions
    stored before these fields existed read as bullet checks.
    """

    model_config = ConfigDict(extra="forbid")

    field: ClaimField = "bullet"
    section: int = -1
    bullet: int = -1
    sentence: int = 0
    text: str = ""
    numbers: list[int] = Field(default_factory=list)
    support: float = 0.0
    flagged: bool = False
    reason: str = ""
    passage_ids: list[str] = Field(default_factory=list)
    better: int | None = None
    better_citation_id: str | None = None
    better_support: float | None = None

    @property
    def is_bullet(self) -> bool:
        """True for a bullet's check (located by section and bullet)."""
        return self.field == "bullet"


class Article(BaseModel):
    """A checked, renumbered draft with its references: what the renderer turns into pages."""

    model_config = ConfigDict(extra="forbid")

    slug: str
    question: str
    audience: Audience = "clinician"
    draft: Draft
    references: list[Reference] = Field(default_factory=list)
    checks: list[BulletCheck] = Field(default_factory=list)
    removed_markers: int = 0
    status: str = "draft"
    last_updated: str = Field(description="ISO date shown as 'Last updated'.")
    provenance: Provenance
    failure: list[str] = Field(
        default_factory=list,
        description="House-format violations left after the repair round: the revision is "
        "stored as 'failed — needs redraft' (empty for a normal draft).",
    )

    @property
    def drafted_without_llm(self) -> bool:
        """True for the extractive drafter's output (labelled as such when rendered)."""
        return self.provenance.drafter == "extractive"


class SiteEntry(BaseModel):
    """One approved revision as the static site publishes it."""

    model_config = ConfigDict(extra="forbid")

    article: Article
    revision_id: str
    content_hash: str
    approved_at: str = Field(description="ISO timestamp of the approval (shown as Last updated).")
    reviewed_by: list[str] = Field(default_factory=list)
    verdict_by: str = Field(
        "",
        description="Who wrote the verdict readers see (a person, or the language model "
        "that drafted it and the author who ran it); shown beside the reviewers.",
    )
    published_at: str = ""
    topic: str | None = Field(None, description="Grouping on the index page.")
