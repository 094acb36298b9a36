"""Claim checks on every field, and misattribution (issue 15's real-model failures, scripted).

Each scripted draft mimics what Qwen2.5-Coder-1.5B wrote on the demo corpus (issue 15's
table); the evidence is the demo index's real retrieval for the question.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cite import check as cite
from pipeline.cite import claims
from pipeline.draft.engine import MemoEmbed, draft_article
from pipeline.evaluate.sets import load_set
from pipeline.index.hybrid import Index
from pipeline.models.article import Bullet, BulletCheck, Draft, DraftSection
from pipeline.models.evidence import EvidenceSet
from pipeline.retrieve.retriever import HybridRetriever
from pipeline.settings.load import Settings
from pipeline.text import split_sentences
from tests.support.demo_index import REFERENCE_QUESTION

REPO = Path(__file__).resolve().parents[2]
SCIG = (
    "Can subcutaneous immunoglobulin replace IVIG as maintenance therapy in stiff-person syndrome?"
)
INITIAL = "What is the initial treatment of stiff-person syndrome?"
OVERVIEW = "What is stiff-person syndrome and how is it treated?"


def _evidence(demo: tuple[Settings, Index], question: str) -> EvidenceSet:
    settings, index = demo
    return HybridRetriever(index=index, settings=settings.retrieval).evidence(question)


def _checks(demo: tuple[Settings, Index], draft: Draft, evidence: EvidenceSet) -> list[BulletCheck]:
    settings, index = demo
    embed = MemoEmbed(index.embed)
    check = cite.check_citations(draft, evidence, embed=embed)
    return claims.article_checks(
        check,
        evidence,
        support_threshold=settings.draft.support_threshold,
        margin=settings.draft.misattribution_margin,
        embed=embed,
    )


def _flagged(checks: list[BulletCheck], field: str) -> list[BulletCheck]:
    return [c for c in checks if c.flagged and c.field == field]


def _number(evidence: EvidenceSet, citation_id: str) -> int:
    return next(i.number for i in evidence.items if i.citation.id == citation_id)


def _first_sentence(evidence: EvidenceSet, citation_id: str) -> str:
    item = next(i for i in evidence.items if i.citation.id == citation_id)
    return split_sentences(item.passages[0].passage.text)[0]


def test_an_invented_trial_in_the_summary_is_flagged(demo: tuple[Settings, Index]) -> None:
    """SCIg maintenance: right citations, but the summary invents a randomized trial."""
    evidence = _evidence(demo, SCIG)
    sources = ["ref:fileccia2020", "pmid:33761724"]
    bullets = [
        Bullet(text=_first_sentence(evidence, cid), citations=[_number(evidence, cid)])
        for cid in sources
    ]
    draft = Draft(
        headline="Subcutaneous Immunoglobulin May Replace IVIG for Maintenance",
        summary=(
            "Case reports describe patients switched from IVIG to subcutaneous immunoglobulin. "
            "A randomized controlled trial showed that subcutaneous immunoglobulin was as "
            "effective as IVIG in 120 patients over two years."
        ),
        sections=[DraftSection(heading="Evidence", bullets=bullets)],
        bottom_line="Subcutaneous immunoglobulin may be an option for some patients.",
        verdict="maybe",
    )
    checks = _checks(demo, draft, evidence)
    flagged = _flagged(checks, "summary")
    assert [c.sentence for c in flagged] == [1], [(c.text, c.support) for c in checks]
    assert not [c for c in checks if c.flagged and c.field != "summary"]


def test_a_headline_verdict_that_the_verdict_field_contradicts_is_flagged(
    demo: tuple[Settings, Index],
) -> None:
    """Reference question: headline "IVIG Not Medically Necessary", verdict null, no citation."""
    evidence = _evidence(demo, REFERENCE_QUESTION)
    draft = Draft(
        headline="IVIG Not Medically Necessary",
        summary="IVIG is not medically necessary for seronegative stiff-person syndrome.",
        bottom_line="Patients should be treated with diazepam and baclofen instead of IVIG.",
        verdict=None,
    )
    checks = _checks(demo, draft, evidence)
    reasons = [c.reason for c in _flagged(checks, "headline")]
    assert any('headline says "no"' in r and '"none"' in r for r in reasons), reasons
    # Nothing is cited, so the Bottom Line's clinical claim has no support at all.
    assert [c.reason for c in _flagged(checks, "bottom_line")] == ["no cited source supports it"]
    agreeing = draft.model_copy(update={"verdict": "no"})
    assert not [c for c in _checks(demo, agreeing, evidence) if "verdict" in c.reason]


def test_a_bullet_copied_from_one_source_but_cited_to_another_is_flagged(
    demo: tuple[Settings, Index],
) -> None:
    """Initial treatment: copied word for word from source 4, cited to 7; support > 0.35."""
    evidence = _evidence(demo, INITIAL)
    copied_from, cited_to = evidence.items[3], evidence.items[6]
    text = split_sentences(copied_from.passages[0].passage.text)[0]
    draft = Draft(
        headline="IVIG",
        summary="Immunoglobulin is reviewed through prior authorization.",
        sections=[
            DraftSection(heading="Treatment", bullets=[Bullet(text=text, citations=[7])])
        ],
        bottom_line="Immunoglobulin needs prior authorization.",
    )
    checks = _checks(demo, draft, evidence)
    bullet = next(c for c in checks if c.is_bullet)
    assert bullet.support > 0.35  # the old check saw a supported bullet and said nothing
    assert bullet.flagged and "better supported by" in bullet.reason
    assert bullet.better_citation_id == copied_from.citation.id
    assert cited_to.citation.id != copied_from.citation.id
    # [k] is how an editor cites it: cited sources first, the others after in retrieval order.
    assert bullet.better == 1 + [i.number for i in evidence.items if i is not cited_to].index(4) + 1
    assert [c.reason for c in _flagged(checks, "headline")] == ["the headline states no answer"]


def test_uncited_claims_and_a_yes_on_an_open_question_are_flagged(
    demo: tuple[Settings, Index],
) -> None:
    """What is SPS (patient): nothing cited, clinical claims in summary and Bottom Line."""
    evidence = _evidence(demo, OVERVIEW)
    draft = Draft(
        headline="Stiff-Person Syndrome Is Treatable",
        summary=(
            "No sources were cited. Stiff-person syndrome is caused by a viral infection and "
            "is cured by amoxicillin 10 mg/kg per day."
        ),
        bottom_line="Most patients recover fully within six weeks of starting antibiotics.",
        related_questions=[
            "Since amoxicillin cures it, how long should treatment last?",
            "Which doctor treats stiff-person syndrome?",
        ],
        verdict="yes",
    )
    checks = _checks(demo, draft, evidence)
    assert [c.sentence for c in _flagged(checks, "summary")] == [1]
    assert [c.sentence for c in _flagged(checks, "bottom_line")] == [0]
    assert any("not a yes/no question" in c.reason for c in _flagged(checks, "headline"))
    assert [c.sentence for c in _flagged(checks, "related")] == [0]


@pytest.mark.slow  # a subprocess or the whole demo set: seconds, not ms
def test_the_extractive_drafter_is_never_flagged_on_the_demo_set(
    demo: tuple[Settings, Index],
) -> None:
    """The extractive drafter copies and cites by construction: no new flag may fire on it."""
    settings, index = demo
    false_flags = []
    claims_checked = 0
    for question in load_set(REPO / "evals" / "sets" / "demo.jsonl"):
        article = draft_article(
            question.question,
            settings=settings,
            index=index,
            audience=question.audience,
            use_llm=False,
        ).article
        claims_checked += len(article.checks)
        false_flags += [(question.id, c.field, c.reason) for c in article.checks if c.flagged]
    assert claims_checked > 150
    assert false_flags == []


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Is IVIG effective?", True),
        ("Does SCIg work?", True),
        ("Can metformin be stopped?", True),
        ("What is stiff-person syndrome?", False),
        ("How accurately can PET distinguish progression?", False),
        ("In adults, is aspirin useful?", False),
    ],
)
def test_yes_no_questions_open_with_an_auxiliary(question: str, expected: bool) -> None:
    assert claims.is_yes_no_question(question) is expected


@pytest.mark.parametrize(
    ("headline", "allowed"),
    [
        ("IVIG Not Medically Necessary", {"no"}),
        ("IVIG Is Effective for Stiff-Person Syndrome", {"yes"}),
        ("IVIG May Help Some Patients", {"maybe", "uncertain", None, "yes"}),
        ("Stiff-Person Syndrome Overview", None),
    ],
)
def test_headline_verdicts(headline: str, allowed: set[str | None] | None) -> None:
    found = claims.headline_verdicts(headline)
    assert (None if found is None else set(found)) == allowed


def test_words_repeated_from_the_question_imply_no_verdict() -> None:
    headline = "IVIG necessary for SPS: Evidence Summary — Verdict Requires Editorial Judgment"
    assert claims.headline_verdicts(headline, "Is IVIG necessary for SPS?") is None


@pytest.mark.parametrize(
    ("related", "problem"),
    [
        ("What dose of IVIG is used?", False),
        ("What does the evidence in “Trial vs. placebo. Part 2” show?", False),
        ("IVIG works. What dose is used?", True),
        ("Is 2 g/kg of IVIG given monthly?", True),
        ("Is a dose of 10 mg/kg safe?", True),
        ("Given that IVIG works, who pays?", True),
        ("IVIG dosing", True),
    ],
)
def test_related_questions_carry_no_claims(related: str, problem: bool) -> None:
    draft = Draft(headline="Some headline here", summary="", bottom_line="",
                  related_questions=[related])  # fmt: skip
    found = claims.prose_checks(draft, "What is X?", [], threshold=0.35)
    assert bool([c for c in found if c.field == "related"]) is problem
