"""Guideline loaders (Markdown, text, HTML) on NINDS/GARD/GHR pages and CDC documents."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from pipeline.ingest.loaders import guideline
from pipeline.models.corpus import EvidenceLevel, SourceKind

GUIDELINES = Path("guidelines")
PAGES = [
    "gard_stiff_person_syndrome",
    "ghr_stiff_person_syndrome",
    "ninds_paraneoplastic_syndromes",
    "ninds_stiff_person_syndrome",
]


@pytest.mark.parametrize("page", PAGES)
def test_markdown_sections_follow_the_h2_headings(shared_data: Path, page: str) -> None:
    path = shared_data / GUIDELINES / "markdown" / f"{page}.md"
    source = path.read_text(encoding="utf-8")
    (c,) = guideline.load_markdown(path).citations
    assert c.title == re.search(r"^# (.+)$", source, re.M).group(1)  # type: ignore[union-attr]
    h2 = [h.strip() for h in re.findall(r"^## (.+)$", source, re.M)]
    assert [s.heading for s in c.sections if s.heading] == h2
    assert c.source_kind is SourceKind.GUIDELINE
    assert c.evidence_level is EvidenceLevel.GUIDELINE
    assert "##" not in c.body


@pytest.mark.parametrize("page", PAGES)
def test_text_and_html_versions_give_the_same_sections(shared_data: Path, page: str) -> None:
    (md,) = guideline.load_markdown(shared_data / GUIDELINES / "markdown" / f"{page}.md").citations
    (txt,) = guideline.load_text(shared_data / GUIDELINES / "text" / f"{page}.txt").citations
    html_path = shared_data / GUIDELINES / "html" / f"{page}.html"
    (page_html,) = guideline.load_html(html_path).citations
    h2 = [html.unescape(h) for h in re.findall(r"<h2>(.*?)</h2>", html_path.read_text("utf-8"))]
    assert [s.heading for s in page_html.sections if s.heading] == h2
    assert [s.heading for s in txt.sections] == [s.heading for s in md.sections]
    assert txt.title == md.title == page_html.title
    assert txt.id == md.id == page_html.id  # the same document in three formats
    organisation = page.split("_")[0].upper()
    assert [a.collective for a in md.authors] == [organisation]  # from "Source: NINDS (...)"


def test_same_title_from_different_sites_gets_different_ids(shared_data: Path) -> None:
    gard = guideline.load_text(shared_data / GUIDELINES / "text" / "gard_stiff_person_syndrome.txt")
    ninds = guideline.load_text(
        shared_data / GUIDELINES / "text" / "ninds_stiff_person_syndrome.txt"
    )
    assert gard.citations[0].title.lower() == "stiff person syndrome"
    assert ninds.citations[0].title.lower() == "stiff-person syndrome"
    assert gard.citations[0].id != ninds.citations[0].id


@pytest.mark.parametrize("name", ["cdc_pcd_23_0347.htm", "cdc_pcd_24_0005.htm"])
def test_site_chrome_is_stripped_from_cdc_pages(shared_data: Path, name: str) -> None:
    path = shared_data / GUIDELINES / "html" / name
    raw = path.read_text(encoding="utf-8")
    chrome = [
        "Skip directly to site content",
        "An official website of the United States government",
        "Here's how you know",
        "Calls for Papers",
        "Contact Us",
        "Other Languages",
        "On This Page",
    ]
    assert all(text in raw for text in chrome)  # they are there to be removed
    (c,) = guideline.load_html(path).citations
    everything = "\n".join([c.title, *(s.heading for s in c.sections), c.body])
    assert [text for text in chrome if text in everything] == []
    title = re.search(r'name="citation_title" content="([^"]+)"', raw).group(1)  # type: ignore[union-attr]
    assert c.title == html.unescape(title)
    headings = [s.heading for s in c.sections]
    assert {"Abstract", "Introduction", "Discussion"} <= set(headings)
    assert any(h.startswith("Methods / ") for h in headings)
    assert "References" not in headings
    doi = re.search(r'name="citation_doi" content="([^"]+)"', raw).group(1)  # type: ignore[union-attr]
    assert c.id == f"doi:{doi.lower()}"
    assert "What is already known on this topic?" in c.body


def test_markdown_reference_lists_are_dropped(shared_data: Path) -> None:
    path = shared_data / GUIDELINES / "markdown" / "cdc_mmwr_su7101a1.md"
    (c,) = guideline.load_markdown(path).citations
    assert c.title == "Standards Required for the Development of CDC Evidence-Based Guidelines"
    assert c.url == "https://www.cdc.gov/mmwr/volumes/71/su/su7101a1.htm"
    headings = [s.heading for s in c.sections]
    assert "References" not in headings
    assert "Steps in Guideline Development / Assess the Need for the Proposed Guideline" in headings
    assert "History and evolution of the advisory committee on immunization" not in c.body


def test_plain_text_headings_are_detected_conservatively(tmp_path: Path) -> None:
    path = tmp_path / "doc.txt"
    path.write_text(
        "Managing Condition X\n\nIntroduction\n\nThis is a sentence.\nIt wraps.\n\n"
        "A short closing line.\n\nDosing\n\n- Give 1 g/kg.\n",
        encoding="utf-8",
    )
    (c,) = guideline.load_text(path).citations
    assert c.title == "Managing Condition X"
    assert [(s.heading, s.text) for s in c.sections] == [
        ("Introduction", "This is a sentence. It wraps.\n\nA short closing line."),
        ("Dosing", "- Give 1 g/kg."),
    ]


def test_html_fragment_and_chrome_classes(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>T</title></head><body>"
        '<div class="cookie-banner">We use cookies</div>'
        '<div id="breadcrumbs">Home &gt; Topics</div>'
        "<main><h1>Guideline</h1><h2>Dose</h2><p>Use <b>2 g/kg</b>.</p>"
        '<div class="social-share">Tweet this</div></main>'
        "<footer>Footer text</footer></body></html>",
        encoding="utf-8",
    )
    (c,) = guideline.load_html(path).citations
    assert c.title == "Guideline"
    assert [(s.heading, s.text) for s in c.sections] == [("Dose", "Use 2 g/kg.")]
    assert not re.search(r"cookies|Home|Tweet|Footer", c.body)
