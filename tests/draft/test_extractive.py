"""The extractive drafter end to end on the demo corpus: structure, citations, determinism."""

from __future__ import annotations

import pytest

from pipeline.article import render
from pipeline.cite.markers import extract_markers
from pipeline.draft.engine import draft_article, save_run
from pipeline.draft.extractive import question_topic, section_group
from pipeline.index.hybrid import Index
from pipeline.models.corpus import EvidenceLevel, SourceKind
from pipeline.settings.load import Settings
from tests.support.demo_index import REFERENCE_QUESTION

HOUSE_SECTIONS = ("## Bottom Line", "## References", "## Related Questions", "Last updated:")


@pytest.fixture(scope="module")
def reference_run(demo: tuple[Settings, Index]):  # type: ignore[no-untyped-def]
    settings, index = demo
    return draft_article(REFERENCE_QUESTION, settings=settings, index=index, use_llm=False)


def test_reference_question_gives_a_complete_house_format_article(reference_run) -> None:  # type: ignore[no-untyped-def]
    markdown = render.to_markdown(reference_run.article)
    lines = markdown.splitlines()
    assert any(line.startswith("**") and line.endswith("**") for line in lines)  # verdict
    for part in HOUSE_SECTIONS:
        assert part in markdown
    assert "Drafted without a language model" in markdown
    assert "pending human review" in markdown
    assert len(reference_run.article.draft.sections) >= 2


def test_every_bullet_cites_and_every_marker_resolves(reference_run) -> None:  # type: ignore[no-untyped-def]
    article = reference_run.article
    numbers = {r.number for r in article.references}
    assert numbers == set(range(1, len(numbers) + 1))
    for section in article.draft.sections:
        for bullet in section.bullets:
            assert bullet.citations and set(bullet.citations) <= numbers
    markdown = render.to_markdown(article)
    body = markdown.split("## References")[0]
    assert set(extract_markers(body)) <= numbers


def test_the_article_cites_the_stiff_person_syndrome_cards(reference_run) -> None:  # type: ignore[no-untyped-def]
    cited = {r.citation_id for r in reference_run.article.references}
    assert {"ref:dalakas2001", "pmid:35798561"} <= cited


def test_two_runs_are_byte_identical(demo: tuple[Settings, Index], reference_run) -> None:  # type: ignore[no-untyped-def]
    settings, index = demo
    again = draft_article(REFERENCE_QUESTION, settings=settings, index=index, use_llm=False)
    assert render.to_markdown(again.article) == render.to_markdown(reference_run.article)
    assert again.raw_draft == reference_run.raw_draft


def test_off_topic_question_abstains_and_cites_nothing(demo: tuple[Settings, Index]) -> None:
    settings, index = demo
    run = draft_article(
        "What torque does a 1967 Ford Mustang lug nut need?",
        settings=settings,
        index=index,
        use_llm=False,
    )
    assert run.article.draft.insufficient_evidence
    assert "Insufficient Evidence" in run.article.draft.headline
    assert run.article.references == []
    assert "does not contain evidence" in run.article.draft.bottom_line


def test_patient_audience_uses_plain_headings(demo: tuple[Settings, Index]) -> None:
    settings, index = demo
    run = draft_article(
        REFERENCE_QUESTION, settings=settings, index=index, use_llm=False, audience="patient"
    )
    headings = [s.heading for s in run.article.draft.sections]
    assert "Guidelines and Consensus" not in headings
    assert run.article.slug.endswith("-patient")


def test_save_run_writes_every_stage(tmp_path, reference_run) -> None:  # type: ignore[no-untyped-def]
    folder = save_run(reference_run, tmp_path)
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["article.html", "article.json", "article.md", "draft.json", "evidence.json"]


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        (
            "Is IVIG medically necessary for a patient with seronegative stiff-person syndrome "
            "who improved on IVIG?",
            "IVIG medically necessary for a patient with seronegative stiff-person syndrome",
        ),
        (
            "What is the initial treatment for stiff person syndrome?",
            "Initial treatment for stiff person syndrome",
        ),
    ],
)
def test_question_topic(question: str, topic: str) -> None:
    assert question_topic(question) == topic


def test_section_groups_follow_evidence_kind() -> None:
    assert section_group(SourceKind.POLICY, EvidenceLevel.OTHER) == "guidelines"
    assert section_group(SourceKind.ARTICLE, EvidenceLevel.RCT) == "trials"
    assert section_group(SourceKind.ARTICLE, EvidenceLevel.CASE_REPORT) == "observational"
    assert section_group(SourceKind.WEB_PAGE, EvidenceLevel.OTHER) == "practical"


def test_each_stage_is_announced_before_it_runs(demo: tuple[Settings, Index]) -> None:
    settings, index = demo
    heard: list[tuple[str, int]] = []
    run = draft_article(
        REFERENCE_QUESTION,
        settings=settings,
        index=index,
        use_llm=False,
        on_stage=lambda stage: heard.append((stage, len(heard))),
    )
    assert [stage for stage, _ in heard] == ["retrieve", "draft", "cite"]
    assert set(run.article.provenance.timings_s) >= {"retrieve", "draft", "cite"}
