"""MEDLINE text (.nbib) loader on Biopython's real PubMed-format records."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.errors import LoadError
from pipeline.ingest.loaders import medline

FIXTURES = Path("fixtures") / "medline_txt"


def test_single_record_with_continuation_lines(shared_data: Path) -> None:
    (c,) = medline.load(shared_data / FIXTURES / "biopython_pubmed_result1.txt").citations
    assert c.id == "pmid:12230038"
    assert c.title == "The Bio* toolkits--a brief overview."
    # The abstract spans seven lines: continuations are joined with single spaces.
    assert c.body.startswith("Bioinformatics research is often difficult to do with commercial")
    assert "commercial software. The Open Source BioPerl, BioPython and Biojava" in c.body
    assert c.body.endswith("point of view of the beginning biologist programmer.")
    assert [(a.family, a.given, a.initials) for a in c.authors] == [("Mangalam", "Harry", "H")]
    assert (c.year, c.month, c.volume, c.issue, c.pages) == (2002, "Sep", "3", "3", "296-302")
    assert (c.journal, c.journal_iso) == ("Briefings in bioinformatics", "Brief Bioinform")
    assert c.publication_types == ["Journal Article"]


def test_every_record_of_a_multi_record_file_loads(shared_data: Path) -> None:
    path = shared_data / FIXTURES / "biopython_pubmed_result2.txt"
    pmids = re.findall(r"^PMID- (\d+)", path.read_text(encoding="utf-8"), re.M)
    result = medline.load(path)
    assert [c.pmid for c in result.citations] == pmids
    assert len(pmids) > 1
    first = result.citations[0]
    assert first.publication_types == ["Evaluation Studies", "Journal Article"]
    # FAU gives the full given names, the AU after it NLM's initials.
    saqi = next(a for a in first.authors if a.family == "Saqi")
    assert (saqi.given, saqi.initials) == ("Mansoor A S", "MA")
    assert first.doi == "10.1186/1471-2105-7-10"
    assert first.pmcid == "PMC1373603"


def test_doi_from_lid_and_expanded_pages(shared_data: Path) -> None:
    (c,) = medline.load(shared_data / FIXTURES / "biopython_pubmed_result3.txt").citations
    assert c.doi == "10.1118/1.4748329"
    assert c.pages == "5795-5813"  # PG "5795-813" written out
    assert [s.heading for s in c.sections] == [""]


def test_title_over_three_lines_with_trailing_spaces(shared_data: Path) -> None:
    (c,) = medline.load(shared_data / FIXTURES / "biopython_pubmed_result4.txt").citations
    assert c.title == (
        "High extracellular glucose promotes cell motility by modulating cell deformability "
        "and contractility via cAMP-RhoA-ROCK axis in human breast cancer cells."
    )
    assert (c.year, c.month, c.pages) == (2023, "May", "mbcE22120560")
    assert [a.initials for a in c.authors] == ["M", "S", "N", "TH"]


def test_collective_authors_and_lone_au_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.nbib"
    path.write_text(
        "PMID- 1\nTI  - A title.\nAU  - Dalakas MC\nCN  - SPS Study Group\n\n"
        "PMID- 2\nTI  - Second.\n",
        encoding="utf-8",
    )
    first, second = medline.load(path).citations
    assert [(a.family, a.initials, a.collective) for a in first.authors] == [
        ("Dalakas", "MC", None),
        (None, None, "SPS Study Group"),
    ]
    assert second.id == "pmid:2"


def test_garbage_line_raises_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("PMID- 1\nTI  - ok\nthis is not medline\n", encoding="utf-8")
    with pytest.raises(LoadError) as info:
        medline.load(path)
    assert info.value.record == "line 3"
