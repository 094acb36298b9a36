"""BibTeX loader (bibtexparser v2) on the derived sample and hand-written entries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.errors import LoadError
from pipeline.ingest.loaders import bibtex
from pipeline.models.corpus import SourceKind


def test_open_sample_entries(shared_data: Path) -> None:
    path = shared_data / "fixtures" / "derived_from_pubmed" / "open_sample.bib"
    text = path.read_text(encoding="utf-8")
    pmids = re.findall(r"^\s*pmid = \{(\d+)\}", text, re.M)
    result = bibtex.load(path)
    assert [c.pmid for c in result.citations] == pmids and len(pmids) == 12
    first = result.citations[0]
    assert [(a.family, a.initials) for a in first.authors] == [
        ("Song", "CI"),
        ("Pogson", "JM"),
        ("Andresen", "NS"),
        ("Ward", "BK"),
    ]
    assert first.pmcid == "PMC8173087"
    assert first.issue is None and result.citations[1].issue == "4"  # "number" field


def test_latex_is_decoded_and_names_are_split(tmp_path: Path) -> None:
    path = tmp_path / "refs.bib"
    path.write_text(
        r"""
@string{nejm = "The New England Journal of Medicine"}
@article{dalakas2001,
  title = {High-dose {IVIG} for {\"o}dd stiff-person syndrome},
  author = {Dalakas, Marinos C. and M{\"u}ller, Jan and {World Health Organization}},
  journal = nejm,
  year = 2001, month = dec,
  pages = {1870--1876},
  eprinttype = {pubmed}, eprint = {11756577},
  keywords = {IVIG; stiff-person syndrome},
}
@online{page, title = {A web page}, url = {https://example.org}}
""",
        encoding="utf-8",
    )
    article, page = bibtex.load(path).citations
    assert article.title == "High-dose IVIG for ödd stiff-person syndrome"
    assert [(a.family, a.initials, a.collective) for a in article.authors] == [
        ("Dalakas", "MC", None),
        ("Müller", "J", None),
        (None, None, "World Health Organization"),
    ]
    assert article.journal == "The New England Journal of Medicine"
    assert (article.year, article.month, article.pages) == (2001, "Dec", "1870-1876")
    assert article.id == "pmid:11756577"
    assert article.keywords == ["IVIG", "stiff-person syndrome"]
    assert page.source_kind is SourceKind.WEB_PAGE and page.url == "https://example.org"


def test_broken_entry_is_skipped_and_the_rest_loads(tmp_path: Path) -> None:
    path = tmp_path / "refs.bib"
    path.write_text(
        "@article{good, title = {Good entry}}\n@article{bad, title = {unclosed\n"
        "@article{good2, title = {Second good}}\n@article{good, title = {Duplicate key}}\n",
        encoding="utf-8",
    )
    result = bibtex.load(path)
    assert [c.title for c in result.citations] == ["Good entry", "Second good"]
    assert len(result.skipped) == 2
    assert all("BibTeX parse error" in s.reason for s in result.skipped)


def test_file_with_no_entries_raises(tmp_path: Path) -> None:
    path = tmp_path / "none.bib"
    path.write_text("% only a comment\n", encoding="utf-8")
    with pytest.raises(LoadError, match="no BibTeX entries"):
        bibtex.load(path)
