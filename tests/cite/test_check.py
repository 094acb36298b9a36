"""Unit tests for pipeline.cite.check: normalization, renumbering, support, references."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.cite.check import (
    check_citations,
    cited_evidence,
    content_terms,
    normalize_draft,
    support_score,
)
from pipeline.cite.references import expand_page_range, format_reference, reference_url
from pipeline.models.article import Bullet, Draft, DraftSection
from pipeline.models.corpus import Author, Citation, EvidenceLevel, Passage, SourceKind
from pipeline.models.evidence import Evidence, EvidenceSet, ScoredPassage

PASSAGE = (
    "High-dose intravenous immune globulin reduced stiffness scores in patients with "
    "stiff-person syndrome. Heightened sensitivity scores also fell during treatment."
)


def citation(n: int, **fields: object) -> Citation:
    """A minimal citation with id ``c<n>``."""
    return Citation.model_validate({"id": f"c{n}", "title": f"Study {n}", **fields})


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


# references

DALAKAS = citation(
    1,
    title="High-dose intravenous immune globulin for stiff-person syndrome.",
    authors=[
        Author(family="Dalakas", initials="MC"),
        Author(family="Fujii", initials="M"),
        Author(family="Li", initials="M"),
        Author(family="Lutfi", initials="B"),
        Author(family="Kyhos", initials="J"),
        Author(family="McElroy", initials="B"),
        Author(family="Smith", initials="A"),
    ],
    journal="The New England journal of medicine",
    journal_iso="N Engl J Med",
    year=2001,
    volume="345",
    issue="26",
    pages="1870-6",
    doi="10.1056/NEJMoa011167",
    pmid="11756577",
)


def test_reference_with_more_than_six_authors() -> None:
    assert format_reference(DALAKAS) == (
        "Dalakas MC, Fujii M, Li M, et al. High-dose intravenous immune globulin for "
        "stiff-person syndrome. N Engl J Med. 2001;345(26):1870-1876. "
        "doi:10.1056/NEJMoa011167. PMID: 11756577"
    )


def test_reference_with_six_authors_lists_all() -> None:
    six = DALAKAS.model_copy(update={"authors": DALAKAS.authors[:6]})
    assert format_reference(six).startswith(
        "Dalakas MC, Fujii M, Li M, Lutfi B, Kyhos J, McElroy B. High-dose"
    )


def test_reference_with_given_names_only() -> None:
    one = citation(1, authors=[Author(family="Dalakas", given="Marinos C")])
    assert format_reference(one) == "Dalakas MC. Study 1."


def test_reference_with_collective_author() -> None:
    group = citation(1, authors=[Author(collective="Stiff Person Study Group")], year=2020)
    assert format_reference(group) == "Stiff Person Study Group. Study 1. 2020."


def test_reference_keeps_question_mark() -> None:
    asked = citation(1, title="Is IVIG effective?", journal="Neurology", year=2019)
    assert format_reference(asked) == "Is IVIG effective? Neurology. 2019."


def test_reference_title_gets_one_period() -> None:
    assert format_reference(citation(1, title="Trial results..")) == "Trial results."


def test_reference_prefers_iso_abbreviation() -> None:
    assert "Neurology." in format_reference(citation(1, journal="Neurology", year=2019))


def test_reference_with_missing_issue_and_pages() -> None:
    cited = citation(1, journal_iso="Neurology", year=2019, volume="92")
    assert format_reference(cited) == "Study 1. Neurology. 2019;92."


def test_reference_with_pages_but_no_volume() -> None:
    assert format_reference(citation(1, year=2019, pages="e12-4")) == "Study 1. 2019:e12-e14."


def test_reference_strips_doi_prefix() -> None:
    cited = citation(1, doi="https://doi.org/10.1/ABC")
    assert format_reference(cited) == "Study 1. doi:10.1/ABC."


def test_web_page_reference() -> None:
    page = citation(
        1,
        title="Stiff person syndrome",
        source_kind=SourceKind.WEB_PAGE,
        year=2024,
        url="https://example.org/sps",
    )
    assert (
        format_reference(page) == "Stiff person syndrome. Web page; 2024. https://example.org/sps"
    )


def test_guideline_reference_uses_journal_as_site() -> None:
    guideline = citation(
        1, title="IVIG policy", source_kind=SourceKind.POLICY, journal="Aetna", url="https://a.b"
    )
    assert format_reference(guideline) == "IVIG policy. Aetna. https://a.b"


def test_guideline_in_journal_is_formatted_as_article() -> None:
    guideline = citation(
        1, source_kind=SourceKind.GUIDELINE, journal_iso="Neurology", year=2020, volume="95"
    )
    assert format_reference(guideline) == "Study 1. Neurology. 2020;95."


# page ranges


@pytest.mark.parametrize(
    ("pages", "expanded"),
    [
        ("1870-6", "1870-1876"),
        ("1870-76", "1870-1876"),
        ("1870-1876", "1870-1876"),
        ("123–45", "123-145"),
        ("S12-4", "S12-S14"),
        ("e123", "e123"),
        ("199-20", "199-20"),
        ("1-4, 7-9", "1-4, 7-9"),
        ("101-9, 220-3", "101-109, 220-223"),
    ],
)
def test_expand_page_range(pages: str, expanded: str) -> None:
    assert expand_page_range(pages) == expanded


# reference_url


def test_url_prefers_pubmed() -> None:
    cited = citation(1, pmid="42", doi="10.1/x", url="https://x.org")
    assert reference_url(cited) == "https://pubmed.ncbi.nlm.nih.gov/42/"


def test_url_falls_back_to_doi() -> None:
    cited = citation(1, doi="doi:10.1/X", url="https://x.org")
    assert reference_url(cited) == "https://doi.org/10.1/X"


def test_url_falls_back_to_url() -> None:
    assert reference_url(citation(1, url="https://x.org")) == "https://x.org"


def test_url_none_without_locator() -> None:
    assert reference_url(citation(1)) is None
