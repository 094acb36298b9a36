"""Article models: the drafter's structured :class:`Draft` and the checked :class:`Article`.

A drafter (LLM chain or extractive) fills a :class:`Draft`; the citation check turns it into
an :class:`Article` with renumbered :class:`Reference` entries and one :class:`BulletCheck`
per finding; a published revision is a :class:`SiteEntry`. The house format itself (how an
article is laid out on the page) is specified in :mod:`pipeline.article.spec`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.models.corpus import Citation, EvidenceLevel

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
