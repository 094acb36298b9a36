"""Evidence levels from source kind, publication types and title keywords."""

from __future__ import annotations

import pytest

from pipeline.ingest.levels import evidence_level, level_for_publication_type
from pipeline.models.corpus import Citation, EvidenceLevel, SourceKind


def _citation(
    types: list[str] | None = None,
    title: str = "Something",
    kind: SourceKind = SourceKind.ARTICLE,
) -> Citation:
    return Citation(id="x", title=title, publication_types=types or [], source_kind=kind)


@pytest.mark.parametrize(
    ("publication_type", "level"),
    [
        ("Randomized Controlled Trial", EvidenceLevel.RCT),
        ("Practice Guideline", EvidenceLevel.GUIDELINE),
        ("Guideline", EvidenceLevel.GUIDELINE),
        ("Consensus Development Conference", EvidenceLevel.GUIDELINE),
        ("Systematic Review", EvidenceLevel.SYSTEMATIC_REVIEW),
        ("Meta-Analysis", EvidenceLevel.SYSTEMATIC_REVIEW),
        ("Observational Study", EvidenceLevel.OBSERVATIONAL),
        ("Comparative Study", EvidenceLevel.OBSERVATIONAL),
        ("Multicenter Study", EvidenceLevel.OBSERVATIONAL),
        ("Case Reports", EvidenceLevel.CASE_REPORT),
        ("Review", None),
        ("Journal Article", None),
    ],
)
def test_publication_type_mapping(publication_type: str, level: EvidenceLevel | None) -> None:
    assert level_for_publication_type(publication_type) is level


def test_strongest_publication_type_wins() -> None:
    types = ["Clinical Trial, Phase III", "Comparative Study", "Randomized Controlled Trial"]
    assert evidence_level(_citation(types)) is EvidenceLevel.RCT
    both = ["Case Reports", "Systematic Review"]
    assert evidence_level(_citation(both)) is EvidenceLevel.SYSTEMATIC_REVIEW


def test_review_alone_is_other() -> None:
    assert evidence_level(_citation(["Journal Article", "Review"])) is EvidenceLevel.OTHER


@pytest.mark.parametrize("kind", [SourceKind.GUIDELINE, SourceKind.POLICY])
def test_guideline_and_policy_sources(kind: SourceKind) -> None:
    assert evidence_level(_citation(["Case Reports"], kind=kind)) is EvidenceLevel.GUIDELINE


@pytest.mark.parametrize(
    ("title", "level"),
    [
        ("A randomised, placebo-controlled trial of IVIG", EvidenceLevel.RCT),
        (
            "Rituximab in SPS: a systematic review and meta-analysis",
            EvidenceLevel.SYSTEMATIC_REVIEW,
        ),
        ("Outcomes in a retrospective cohort of 36 patients", EvidenceLevel.OBSERVATIONAL),
        ("Stiff-person syndrome after vaccination: a case report", EvidenceLevel.CASE_REPORT),
        ("Consensus recommendations for the diagnosis of SPS", EvidenceLevel.GUIDELINE),
        ("Stiff-person syndrome: an update", EvidenceLevel.OTHER),
    ],
)
def test_title_keywords_when_types_say_nothing(title: str, level: EvidenceLevel) -> None:
    assert evidence_level(_citation(["Journal Article"], title=title)) is level


def test_title_does_not_override_an_informative_type() -> None:
    citation = _citation(["Case Reports"], title="A systematic review and a case report")
    assert evidence_level(citation) is EvidenceLevel.CASE_REPORT
