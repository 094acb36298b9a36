"""RIS loader (rispy) on the sparse stiff-person-syndrome references and tmp files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.errors import LoadError
from pipeline.ingest.loaders import ris
from pipeline.models.corpus import EvidenceLevel, SourceKind


def test_sparse_key_references(shared_data: Path) -> None:
    path = shared_data / "sps_ivig" / "key_references.ris"
    text = path.read_text(encoding="utf-8")
    result = ris.load(path)
    assert len(result.citations) == text.count("\nTY  - ") + text.startswith("TY  - ") == 12
    first = result.citations[0]
    assert first.id == "pmid:11756577"
    assert first.title == "High-dose intravenous immune globulin for stiff-person syndrome."
    assert [(a.family, a.initials) for a in first.authors][:2] == [
        ("Dalakas", "MC"),
        ("Fujii", "M"),
    ]
    assert first.pages == "1870-1876"  # SP 1870 + EP 6
    assert (first.year, first.volume, first.issue) == (2001, "345", "26")
    assert first.journal == "The New England Journal of Medicine"
    assert first.journal_iso == "N Engl J Med"
    # Repeated M3 lines are all kept (rispy would keep only the first by default).
    assert first.publication_types == ["Randomized Controlled Trial", "Clinical Trial"]
    assert first.evidence_level is EvidenceLevel.RCT
    # Records whose AN is empty fall back to the DOI for their id.
    empty_an = re.findall(r"^DO  - (.+)\n(?=AN  - \n)", text, re.M)
    by_doi = {c.doi: c for c in result.citations}
    assert empty_an and all(
        by_doi[d.strip().lower()].id == f"doi:{d.strip().lower()}" for d in empty_an
    )


def test_accession_number_is_a_pmid_only_for_pubmed_records(tmp_path: Path) -> None:
    path = tmp_path / "refs.ris"
    path.write_text(
        "TY  - JOUR\nTI  - From Embase\nAN  - 123456\nER  - \n\n"
        "TY  - ELEC\nTI  - A web page\nAU  - Smith, John\nAN  - 42\nDP  - PubMed\n"
        "PY  - 2019/05/02\nER  - \n",
        encoding="utf-8",
    )
    embase, page = ris.load(path).citations
    assert embase.pmid is None and embase.id.startswith("h:")
    assert page.pmid == "42" and page.source_kind is SourceKind.WEB_PAGE
    assert (page.year, page.month) == (2019, "May")
    assert [(a.family, a.given, a.initials) for a in page.authors] == [("Smith", "John", "J")]


def test_record_without_title_or_abstract_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "refs.ris"
    path.write_text(
        "TY  - JOUR\nAU  - Nobody, A\nER  - \n\nTY  - JOUR\nTI  - Real\nER  - \n",
        encoding="utf-8",
    )
    result = ris.load(path)
    assert [c.title for c in result.citations] == ["Real"]
    assert result.skipped[0].record == "record 1"


def test_truncated_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "cut.ris"
    path.write_text("TY  - JOUR\nTI  - Complete\nER  - \n\nTY  - JOUR\nTI  - Cut", encoding="utf-8")
    with pytest.raises(LoadError, match="ER"):
        ris.load(path)


def test_file_without_records_raises(tmp_path: Path) -> None:
    path = tmp_path / "none.ris"
    path.write_text("just some words\n", encoding="utf-8")
    with pytest.raises(LoadError, match="no RIS records"):
        ris.load(path)
