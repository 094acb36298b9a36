"""JATS (PMC .nxml) full-text loader on seven real open-access articles."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from pipeline.errors import LoadError
from pipeline.ingest.loaders import jats
from pipeline.models.corpus import SourceKind

FIXTURES = Path("fixtures") / "pmc_jats"
FILES = [
    "1471-2180-11-174.nxml",
    "1472-6831-8-11.nxml",
    "cc11003.nxml",
    "ehp-116-1694.nxml",
    "pntd.0002065.nxml",
    "pone.0000217.nxml",
    "pone.0046493.nxml",
]


@pytest.mark.parametrize("name", FILES)
def test_ids_and_sections_match_the_article(shared_data: Path, name: str) -> None:
    path = shared_data / FIXTURES / name
    meta = etree.parse(str(path)).getroot().find("front/article-meta")
    assert meta is not None
    ids = {n.get("pub-id-type"): n.text for n in meta.findall("article-id")}
    (c,) = jats.load(path).citations
    assert c.source_kind is SourceKind.FULL_TEXT
    assert c.pmid == ids.get("pmid")
    assert c.doi == ids["doi"].lower()
    assert c.pmcid == f"PMC{ids['pmc']}"
    assert c.id == (f"pmid:{ids['pmid']}" if "pmid" in ids else f"doi:{ids['doi'].lower()}")
    assert c.title and c.authors and c.year
    assert len(c.sections) >= 4 and all(s.text for s in c.sections)
    assert c.licence_basis  # every fixture states its licence one way or another


def test_structure_licence_and_what_is_left_out(shared_data: Path) -> None:
    (c,) = jats.load(shared_data / FIXTURES / "1471-2180-11-174.nxml").citations
    headings = [s.heading for s in c.sections]
    assert headings[:3] == ["Abstract / Background", "Abstract / Results", "Abstract / Conclusions"]
    assert "Results / Effect of Host Growth Rates" in headings
    assert not any(
        h.startswith(("Competing interests", "Authors' contributions")) for h in headings
    )
    assert c.licence_basis is not None
    assert "http://creativecommons.org/licenses/by/2.0" in c.licence_basis
    body = c.body
    assert "Schematic presentation of two models of holin hole formation" not in body  # caption
    assert "Micron-scale holes terminate the phage infection cycle" not in body  # ref-list
    assert "Despite identical genotypes and seemingly uniform environments" in body
    assert [(a.family, a.initials) for a in c.authors] == [("Dennehy", "JJ"), ("Wang", "IN")]
    assert (c.journal, c.journal_iso, c.volume, c.pages) == (
        "BMC Microbiology",
        "BMC Microbiol",
        "11",
        "174",
    )


def test_public_domain_and_copyright_statement_licences(shared_data: Path) -> None:
    (ehp,) = jats.load(shared_data / FIXTURES / "ehp-116-1694.nxml").citations
    assert ehp.licence_basis is not None and "public-domain" in ehp.licence_basis
    assert ehp.pages == "1694-1699"
    assert ehp.sections[5].heading == ""  # introduction paragraphs sit before any <sec>
    (plos,) = jats.load(shared_data / FIXTURES / "pone.0000217.nxml").citations
    assert plos.licence_basis is not None
    assert plos.licence_basis.startswith("article copyright statement")
    assert "Creative Commons Attribution License" in plos.licence_basis


def test_markup_inside_words_stays_glued(shared_data: Path) -> None:
    (c,) = jats.load(shared_data / FIXTURES / "pone.0046493.nxml").citations
    # Source: M<italic>m</italic>PPOX, which must not become "M m PPOX".
    assert c.title.startswith("MmPPOX Inhibits Mycobacterium tuberculosis")
    assert "p-nitrophenyl (pNP) esters" in " ".join(s.heading for s in c.sections)


def test_author_summary_keeps_its_title(shared_data: Path) -> None:
    (c,) = jats.load(shared_data / FIXTURES / "pntd.0002065.nxml").citations
    assert [s.heading for s in c.sections][:2] == ["Abstract", "Author Summary"]


def test_non_article_xml_and_truncation_raise(shared_data: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.nxml"
    other.write_text("<PubmedArticleSet/>", encoding="utf-8")
    with pytest.raises(LoadError, match="not a JATS"):
        jats.load(other)
    data = (shared_data / FIXTURES / "cc11003.nxml").read_bytes()
    cut = tmp_path / "cut.nxml"
    cut.write_bytes(data[:3000])
    with pytest.raises(LoadError, match="truncated"):
        jats.load(cut)
