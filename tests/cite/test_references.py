"""Unit tests for pipeline.cite.references: reference text, page ranges, reference URLs."""

from __future__ import annotations

import pytest

from pipeline.cite.references import expand_page_range, format_reference, reference_url
from pipeline.models.corpus import Author, SourceKind
from tests.support.citations import citation

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
