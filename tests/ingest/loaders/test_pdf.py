"""PDF loader (pypdf) on a one-page NINDS page and a 10-page EHP article."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import PdfReader

from pipeline.errors import LoadError
from pipeline.ingest.loaders import pdf
from pipeline.models.corpus import SourceKind

FIXTURES = Path("fixtures") / "pdf"


def test_ninds_page_uses_metadata_and_question_headings(shared_data: Path) -> None:
    path = shared_data / FIXTURES / "ninds_stiff_person_syndrome.pdf"
    info = PdfReader(path).metadata
    assert info is not None
    (c,) = pdf.load(path).citations
    assert c.title == info.title == "Stiff-Person Syndrome Information Page"
    assert c.url == info.subject
    assert c.source_kind is SourceKind.WEB_PAGE
    assert [a.collective for a in c.authors] == [
        "National Institute of Neurological Disorders and Stroke"
    ]
    assert [s.heading for s in c.sections if s.heading] == [
        "What is (are) Stiff-Person Syndrome ?",
        "What are the treatments for Stiff-Person Syndrome ?",
        "What is the outlook for Stiff-Person Syndrome ?",
        # wrapped over two lines in the PDF
        "what research (or clinical trials) is being done for Stiff-Person Syndrome ?",
    ]
    assert "intravenous immunoglobulin (IVIg) treatment" in c.body


def test_article_sections_and_dropped_reference_list(shared_data: Path) -> None:
    path = shared_data / FIXTURES / "ehp-116-1694.pdf"
    pages = [p.extract_text() for p in PdfReader(path).pages]
    assert "GouldEButcherLL1989" in "".join(pages)  # a reference entry in the source
    (c,) = pdf.load(path).citations
    assert c.doi == "10.1289/ehp.11570" and c.id == "doi:10.1289/ehp.11570"
    assert c.source_kind is SourceKind.ARTICLE
    assert [a.family for a in c.authors] == ["Lema", "Dickey", "Schultz", "Swanson"]
    headings = [s.heading for s in c.sections]
    assert headings == ["", "Abstract", "Materials and Methods", "Results", "Discussion"]
    assert "GouldEButcherLL1989" not in c.body
    assert c.body.count("Polybrominated diphenyl ether (PBDE) flame retardants") == 1


def test_hyphen_at_line_end_is_resolved_from_the_documents_own_words() -> None:
    lines = ["the fore-", "brain and the hypothalamic-", "pituitary axis"]
    vocabulary = {"forebrain", "hypothalamic-pituitary"}
    assert pdf._join(lines, vocabulary) == "the forebrain and the hypothalamic-pituitary axis"
    assert pdf._join(["a re-", "port"], set()) == "a report"  # default: typesetting break


def test_not_a_pdf_raises(tmp_path: Path) -> None:
    path = tmp_path / "fake.pdf"
    path.write_bytes(b"%PDF-1.4\nthis is not really a pdf\n")
    with pytest.raises(LoadError, match="cannot read PDF"):
        pdf.load(path)
