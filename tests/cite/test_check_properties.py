"""Property tests for pipeline.cite.check: the numbering invariants hold for any draft and evidence.

Drafts cite random numbers, in their lists and inline, many of them outside the evidence;
evidence sets hold 0..12 items with arbitrary numbers, some sharing a source.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.cite.check import CitationCheck, check_citations, cited_evidence
from pipeline.cite.markers import extract_markers, strip_markers
from pipeline.models.article import Bullet, Draft, DraftSection
from pipeline.models.corpus import Citation, Passage
from pipeline.models.evidence import Evidence, EvidenceSet, ScoredPassage

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None)
NUMBERS = st.integers(min_value=0, max_value=20)
WORDS = st.lists(st.sampled_from(["ivig", "reduced", "stiffness", "the", "dose", "trial"]))
MESSY_TEXT = st.text(alphabet="[]0123456789,;-– abc.", max_size=30)


@dataclass
class Case:
    """A generated draft, its evidence, and the unknown-number occurrences it contains."""

    draft: Draft
    evidence: EvidenceSet
    unknown: int


@st.composite
def evidence_sets(draw: st.DrawFn) -> EvidenceSet:
    """0..12 evidence items with distinct numbers in 1..15; sources drawn from a small pool."""
    numbers = draw(st.lists(st.integers(1, 15), max_size=12, unique=True))
    items = []
    for number in numbers:
        cited = Citation(id=f"c{draw(st.integers(1, 14))}", title="T")
        text = " ".join(draw(WORDS))
        passage = Passage(citation_id=cited.id, text=text or "empty")
        scored = ScoredPassage(passage=passage, citation=cited, score=1.0)
        items.append(Evidence(number=number, citation=cited, passages=[scored]))
    return EvidenceSet(question="q", items=items)


@st.composite
def bullets(draw: st.DrawFn) -> tuple[Bullet, list[int]]:
    """A bullet with listed and inline citations, and every number it cites (repeats kept)."""
    listed = draw(st.lists(NUMBERS, max_size=5))
    inline = draw(st.lists(st.lists(NUMBERS, min_size=1, max_size=3), max_size=3))
    pieces = [*draw(WORDS), *("[" + ", ".join(map(str, group)) + "]" for group in inline)]
    text = " ".join(draw(st.permutations(pieces))) if pieces else ""
    return Bullet(text=text, citations=listed), listed + [n for g in inline for n in g]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A draft of 0..4 sections with 0..5 bullets each, checked against random evidence."""
    evidence = draw(evidence_sets())
    known = set(evidence.by_number())
    sections, unknown = [], 0
    for heading in range(draw(st.integers(0, 4))):
        drawn = draw(st.lists(bullets(), max_size=5))
        unknown += sum(n not in known for _, cited in drawn for n in cited)
        sections.append(DraftSection(heading=f"S{heading}", bullets=[b for b, _ in drawn]))
    summary = draw(st.sampled_from(["Yes.", "Yes [1].", "Yes [2, 30]."]))
    draft = Draft(headline="H", summary=summary, sections=sections, bottom_line="B")
    return Case(draft=draft, evidence=evidence, unknown=unknown)


def bullet_numbers(result: CitationCheck) -> list[list[int]]:
    """Every bullet's citations in reading order."""
    return [b.citations for s in result.draft.sections for b in s.bullets]


@PROPERTY_SETTINGS
@given(cases())
def test_numbering_invariants(case: Case) -> None:
    result = check_citations(case.draft, case.evidence)
    numbers = [r.number for r in result.references]
    cited = [n for bullet in bullet_numbers(result) for n in bullet]
    ids = [r.citation_id for r in result.references]
    assert numbers == list(range(1, len(numbers) + 1)), "references run 1..n"
    assert set(cited) == set(numbers), "every citation resolves and every reference is cited"
    assert list(dict.fromkeys(cited)) == numbers, "numbered by first appearance"
    assert len(ids) == len(set(ids)), "one reference per source"
    assert all(len(b) == len(set(b)) for b in bullet_numbers(result)), "no repeats in a bullet"
    assert set(result.renumbering) <= set(case.evidence.by_number()), "only known numbers mapped"
    assert set(result.renumbering.values()) == set(numbers), "renumbering targets references"


@PROPERTY_SETTINGS
@given(cases())
def test_removed_markers_count_unknown_occurrences(case: Case) -> None:
    assert check_citations(case.draft, case.evidence).removed_markers == case.unknown


@PROPERTY_SETTINGS
@given(cases())
def test_report_describes_the_cleaned_draft(case: Case) -> None:
    result = check_citations(case.draft, case.evidence)
    sections = result.draft.sections
    texts = [result.draft.summary, *(b.text for s in sections for b in s.bullets)]
    empty = [
        (s, b)
        for s, section in enumerate(sections)
        for b, bullet in enumerate(section.bullets)
        if not bullet.citations
    ]
    assert all(extract_markers(text) == [] for text in texts), "no marker left in text"
    assert [(u.section_index, u.bullet_index) for u in result.uncited_bullets] == empty
    assert len(result.bullet_support) + len(empty) == sum(len(s.bullets) for s in sections)
    assert all(0.0 <= s.score <= 1.0 for s in result.bullet_support)


@PROPERTY_SETTINGS
@given(cases())
def test_check_is_idempotent(case: Case) -> None:
    first = check_citations(case.draft, case.evidence)
    again = check_citations(first.draft, cited_evidence(case.evidence, first.renumbering))
    assert again.draft == first.draft
    assert again.references == first.references
    assert again.bullet_support == first.bullet_support
    assert again.renumbering == {n: n for n in range(1, len(first.references) + 1)}
    assert (again.removed_markers, again.prose_markers) == (0, [])


@PROPERTY_SETTINGS
@given(MESSY_TEXT)
def test_strip_leaves_no_marker(text: str) -> None:
    assert extract_markers(strip_markers(text)) == []


@PROPERTY_SETTINGS
@given(MESSY_TEXT)
def test_strip_is_idempotent(text: str) -> None:
    assert strip_markers(strip_markers(text)) == strip_markers(text)


@PROPERTY_SETTINGS
@given(st.lists(st.integers(0, 999), min_size=1, max_size=6))
def test_rendered_markers_round_trip(numbers: list[int]) -> None:
    assert extract_markers("Claim [" + ", ".join(map(str, numbers)) + "].") == numbers


@PROPERTY_SETTINGS
@given(MESSY_TEXT, st.lists(NUMBERS, max_size=4))
def test_messy_bullets_stay_idempotent(text: str, listed: list[int]) -> None:
    evidence = EvidenceSet(question="q", items=[])
    draft = Draft(
        headline="H",
        summary="S",
        sections=[DraftSection(heading="S", bullets=[Bullet(text=text, citations=listed)])],
        bottom_line="B",
    )
    first = check_citations(draft, evidence)
    assert check_citations(first.draft, evidence).draft == first.draft
