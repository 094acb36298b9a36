"""Unit tests for pipeline.cite.check: normalization, renumbering, support."""

from __future__ import annotations

import numpy as np

from pipeline.cite.check import (
    check_citations,
    cited_evidence,
    content_terms,
    normalize_draft,
    support_score,
)
from pipeline.models.article import Bullet, Draft, DraftSection
from pipeline.models.corpus import EvidenceLevel, Passage
from pipeline.models.evidence import Evidence, EvidenceSet, ScoredPassage
from tests.support.citations import citation

PASSAGE = (
    "High-dose intravenous immune globulin reduced stiffness scores in patients with "
    "stiff-person syndrome. Heightened sensitivity scores also fell during treatment."
)


def evidence_item(n: int, text: str = PASSAGE, source: int | None = None) -> Evidence:
    """Evidence number ``n`` with one passage; ``source`` picks the citation (default n)."""
    cited = citation(n if source is None else source)
    passage = Passage(citation_id=cited.id, text=text)
    return Evidence(
        number=n, citation=cited, passages=[ScoredPassage(passage=passage, citation=cited, score=1)]
    )


def evidence_set(count: int = 5, text: str = PASSAGE) -> EvidenceSet:
    """Evidence numbered 1..count, all with the same passage text."""
    return EvidenceSet(question="q", items=[evidence_item(n, text) for n in range(1, count + 1)])


def draft(*bullets: Bullet | str, **fields: object) -> Draft:
    """A draft with one section holding ``bullets`` (strings become uncited bullets)."""
    items = [b if isinstance(b, Bullet) else Bullet(text=b) for b in bullets]
    values: dict[str, object] = {"headline": "H", "summary": "S", "bottom_line": "B"}
    values["sections"] = [DraftSection(heading="Findings", bullets=items)]
    return Draft.model_validate({**values, **fields})


def bullet(*numbers: int, text: str = "IVIG reduced stiffness in stiff-person syndrome") -> Bullet:
    """A bullet citing ``numbers``."""
    return Bullet(text=text, citations=list(numbers))


def citations_of(result: Draft) -> list[list[int]]:
    """Every bullet's citations, in reading order."""
    return [b.citations for s in result.sections for b in s.bullets]


# normalize_draft


def test_normalize_moves_inline_markers_to_citations() -> None:
    result = normalize_draft(draft(Bullet(text="Claim [2, 3].")))
    assert citations_of(result) == [[2, 3]]


def test_normalize_removes_inline_markers_from_text() -> None:
    result = normalize_draft(draft(Bullet(text="Claim [2, 3].")))
    assert result.sections[0].bullets[0].text == "Claim."


def test_normalize_keeps_list_first_and_drops_duplicates() -> None:
    result = normalize_draft(draft(Bullet(text="Claim [4][2].", citations=[2, 5, 2])))
    assert citations_of(result) == [[2, 5, 4]]


def test_normalize_strips_summary_markers() -> None:
    assert normalize_draft(draft(summary="Yes [1].")).summary == "Yes."


def test_normalize_strips_headline_and_bottom_line() -> None:
    result = normalize_draft(draft(headline="No [2]", bottom_line="Stop [3]."))
    assert (result.headline, result.bottom_line) == ("No", "Stop.")


def test_normalize_strips_lead_without_citing_a_bullet() -> None:
    section = DraftSection(heading="H", lead="Background [4]:", bullets=[Bullet(text="x")])
    result = normalize_draft(draft().model_copy(update={"sections": [section]}))
    assert (result.sections[0].lead, citations_of(result)) == ("Background:", [[]])


def test_normalize_does_not_change_input() -> None:
    original = draft(Bullet(text="Claim [1]."))
    normalize_draft(original)
    assert original.sections[0].bullets[0].text == "Claim [1]."


# check_citations: resolving and renumbering


def test_invented_number_is_counted() -> None:
    result = check_citations(draft(bullet(1, 9)), evidence_set(5))
    assert result.removed_markers == 1


def test_invented_number_is_removed() -> None:
    result = check_citations(draft(bullet(1, 9)), evidence_set(5))
    assert citations_of(result.draft) == [[1]]


def test_invented_inline_marker_is_removed_from_text() -> None:
    result = check_citations(draft(Bullet(text="Claim [9].")), evidence_set(5))
    assert result.draft.sections[0].bullets[0].text == "Claim."


def test_removed_numbers_listed_once_each() -> None:
    result = check_citations(draft(bullet(9, 7), bullet(9)), evidence_set(5))
    assert (result.removed_numbers, result.removed_markers) == ([9, 7], 3)


def test_zero_is_never_a_reference() -> None:
    assert check_citations(draft(bullet(0)), evidence_set(5)).removed_numbers == [0]


def test_renumbering_by_first_appearance() -> None:
    result = check_citations(draft(bullet(3), bullet(1, 3), bullet(5)), evidence_set(5))
    assert result.renumbering == {3: 1, 1: 2, 5: 3}


def test_renumbered_bullets() -> None:
    result = check_citations(draft(bullet(3), bullet(1, 3), bullet(5)), evidence_set(5))
    assert citations_of(result.draft) == [[1], [2, 1], [3]]


def test_references_follow_first_appearance() -> None:
    result = check_citations(draft(bullet(3), bullet(1, 3), bullet(5)), evidence_set(5))
    assert [(r.number, r.citation_id) for r in result.references] == [
        (1, "c3"),
        (2, "c1"),
        (3, "c5"),
    ]


def test_first_appearance_spans_sections() -> None:
    sections = [
        DraftSection(heading="A", bullets=[bullet(4)]),
        DraftSection(heading="B", bullets=[bullet(2, 4)]),
    ]
    result = check_citations(draft().model_copy(update={"sections": sections}), evidence_set(5))
    assert citations_of(result.draft) == [[1], [2, 1]]


def test_uncited_evidence_has_no_reference() -> None:
    result = check_citations(draft(bullet(2)), evidence_set(5))
    assert [r.citation_id for r in result.references] == ["c2"]


def test_one_number_per_source() -> None:
    items = [evidence_item(1), evidence_item(2, source=1), evidence_item(3)]
    result = check_citations(draft(bullet(2), bullet(1, 3)), EvidenceSet(question="q", items=items))
    assert citations_of(result.draft) == [[1], [1, 2]]


def test_uncited_bullet_is_flagged() -> None:
    result = check_citations(draft(bullet(1), "No source here"), evidence_set(5))
    assert [(u.section_index, u.bullet_index) for u in result.uncited_bullets] == [(0, 1)]


def test_bullet_left_without_valid_citation_stays_uncited() -> None:
    result = check_citations(draft(bullet(9)), evidence_set(5))
    assert (citations_of(result.draft), len(result.uncited_bullets)) == ([[]], 1)


def test_prose_markers_are_reported() -> None:
    result = check_citations(draft(bullet(1), summary="Yes [2, 3]."), evidence_set(5))
    assert [(m.field, m.numbers) for m in result.prose_markers] == [("summary", [2, 3])]


def test_prose_markers_do_not_create_references() -> None:
    result = check_citations(draft(bullet(1), summary="Yes [2]."), evidence_set(5))
    assert [r.number for r in result.references] == [1]


def test_reference_carries_level_and_url() -> None:
    item = evidence_item(1)
    item.citation.pmid, item.citation.evidence_level = "123", EvidenceLevel.RCT
    result = check_citations(draft(bullet(1)), EvidenceSet(question="q", items=[item]))
    assert (result.references[0].evidence_level, result.references[0].url) == (
        EvidenceLevel.RCT,
        "https://pubmed.ncbi.nlm.nih.gov/123/",
    )


def test_cited_evidence_is_renumbered() -> None:
    result = check_citations(draft(bullet(4), bullet(2)), evidence_set(5))
    renumbered = cited_evidence(evidence_set(5), result.renumbering)
    assert [(e.number, e.citation.id) for e in renumbered.items] == [(1, "c4"), (2, "c2")]


def test_check_is_idempotent() -> None:
    first = check_citations(draft(bullet(3, 9), bullet(1, 3)), evidence_set(5))
    again = check_citations(first.draft, cited_evidence(evidence_set(5), first.renumbering))
    assert (again.draft, again.renumbering) == (first.draft, {1: 1, 2: 2})


# support


def test_support_high_for_paraphrase() -> None:
    claim = "High-dose IVIG reduced stiffness in stiff-person syndrome"
    assert support_score(claim, [PASSAGE]) >= 0.8


def test_support_low_for_unrelated_claim() -> None:
    claim = "Metformin lowers HbA1c in type 2 diabetes"
    assert support_score(claim, [PASSAGE]) == 0.0


def test_support_uses_union_of_passages() -> None:
    claim = "stiffness fell; mortality rose"
    assert support_score(claim, ["stiffness fell", "mortality rose"]) == 1.0


def test_support_zero_without_content_words() -> None:
    assert support_score("it is what it is", [PASSAGE]) == 0.0


def test_support_zero_without_passages() -> None:
    assert support_score("stiffness", []) == 0.0


def test_content_terms_are_stemmed_without_stop_words() -> None:
    assert content_terms("The patients were treated") == {"patient", "treat"}


def fake_embed(texts: list[str]) -> np.ndarray:
    """Vectors that make any sentence mentioning 'glucose' point along the claim."""
    return np.array([[1.0, 0.0] if "glucose" in t or "sugar" in t else [0.0, 1.0] for t in texts])


def test_embedding_rescues_paraphrase() -> None:
    claim = "Blood sugar dropped"
    assert support_score(claim, ["Glycaemia fell. Plasma glucose declined."], embed=fake_embed) == 1


def test_embedding_never_lowers_lexical_score() -> None:
    claim = "reduced stiffness scores"
    assert support_score(claim, [PASSAGE], embed=fake_embed) == support_score(claim, [PASSAGE])


def test_unsupported_bullet_is_flagged() -> None:
    items = [evidence_item(1, text="Aspirin prevents stroke.")]
    result = check_citations(draft(bullet(1)), EvidenceSet(question="q", items=items))
    assert result.bullet_support[0].flagged


def test_supported_bullet_is_not_flagged() -> None:
    result = check_citations(draft(bullet(1)), evidence_set(1))
    assert not result.bullet_support[0].flagged


def test_threshold_is_configurable() -> None:
    result = check_citations(draft(bullet(1)), evidence_set(1), support_threshold=1.01)
    assert result.bullet_support[0].flagged


def test_support_names_best_passage() -> None:
    items = [evidence_item(1, text="Aspirin prevents stroke."), evidence_item(2)]
    result = check_citations(draft(bullet(1, 2)), EvidenceSet(question="q", items=items))
    assert result.bullet_support[0].best_passage_id == items[1].passages[0].passage.id


def test_support_reports_new_numbers() -> None:
    result = check_citations(draft(bullet(4, 2)), evidence_set(5))
    assert result.bullet_support[0].numbers == [1, 2]


def test_check_embeds_each_text_once() -> None:
    calls: list[list[str]] = []

    def counting_embed(texts: list[str]) -> np.ndarray:
        calls.append(texts)
        return fake_embed(texts)

    check_citations(draft(bullet(1), bullet(1)), evidence_set(1), embed=counting_embed)
    embedded = [t for call in calls for t in call]
    assert len(embedded) == len(set(embedded))
