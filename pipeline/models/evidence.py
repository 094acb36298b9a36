"""Evidence models: what retrieval hands the drafter.

A :class:`ScoredPassage` carries the fused score that ranked it; the drafter receives an
:class:`EvidenceSet` of sources numbered 1..n (:class:`Evidence`), and those numbers are the
ones an article's bullets cite.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from pipeline.models.corpus import Citation, EvidenceLevel, Passage, SourceKind


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
