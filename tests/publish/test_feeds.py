"""pipeline.publish.feeds: the JSON export, the Atom feed and the sitemap."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import lxml.etree
import lxml.html

from pipeline.publish.site import build_site
from tests.support.site_entries import ATOM, IVIG, NS, SITEMAP, entries, entry, page


def test_json_export_lists_every_entry(site: Path) -> None:
    data = json.loads((site / "articles.json").read_text("utf-8"))
    records = {r["slug"]: r for r in data["articles"]}
    assert set(records) == {e.article.slug for e in entries()}
    record = records["ivig-sps-patient"]
    assert record["question"] == IVIG and record["audience"] == "patient"
    assert record["headline"] == f"Verdict on: {IVIG}"
    assert record["approved_at"] == "2026-01-06T09:30:00+00:00"
    assert record["reviewed_by"] == ["Dr Ada Lovelace", "Dr Grace Hopper"]
    assert record["url"] == "articles/ivig-sps-patient.html"
    assert [r["number"] for r in record["references"]] == [1, 2]
    assert record["references"][0]["url"].startswith("https://pubmed.ncbi.nlm.nih.gov/")
    assert record["references"][0]["evidence_level"] == "rct"


def test_atom_feed(site: Path) -> None:
    root = lxml.etree.fromstring((site / "feed.xml").read_bytes())
    assert root.tag == f"{ATOM}feed"
    for child in ["title", "id", "updated", "author"]:
        assert root.find(f"{ATOM}{child}") is not None, child
    assert root.findtext(f"{ATOM}updated") == "2026-01-07T09:30:00Z"
    items = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in items][:2] == [
        "urn:evidence-press:article:aspirin-over-70",
        "urn:evidence-press:article:ivig-sps-patient",
    ]
    assert len(items) == 6
    for item in items:
        for child in ["title", "id", "updated", "summary"]:
            assert item.findtext(f"{ATOM}{child}"), child
        datetime.fromisoformat(item.findtext(f"{ATOM}updated", "").replace("Z", "+00:00"))
        assert [
            (site / link.get("href", "")).is_file() for link in item.findall(f"{ATOM}link")
        ] == [True]


def test_sitemap_relative_and_absolute(site: Path, tmp_path: Path) -> None:
    root = lxml.etree.fromstring((site / "sitemap.xml").read_bytes())
    assert root.tag == f"{SITEMAP}urlset"
    locs = [u.findtext(f"{SITEMAP}loc", "") for u in root.findall(f"{SITEMAP}url")]
    assert len(locs) == 8 and all((site / loc).is_file() for loc in locs)
    build_site(entries(), tmp_path / "abs", base_url="https://press.example.org/")
    root = lxml.etree.fromstring((tmp_path / "abs" / "sitemap.xml").read_bytes())
    locs = [u.findtext(f"{SITEMAP}loc", "") for u in root.findall(f"{SITEMAP}url")]
    assert locs[0] == "https://press.example.org/index.html"
    assert all(loc.startswith("https://press.example.org/") for loc in locs)
    feed = lxml.etree.fromstring((tmp_path / "abs" / "feed.xml").read_bytes())
    assert feed.findtext(f"{ATOM}id") == "https://press.example.org/"
    canonical = page(tmp_path / "abs" / "articles" / "ivig-sps.html").xpath(
        "//link[@rel='canonical']/@href"
    )
    assert canonical == ["https://press.example.org/articles/ivig-sps.html"]


def test_control_characters_do_not_break_xml(tmp_path: Path) -> None:
    build_site([entry("ctl", "Bell \x07 and \x1b escape?", 1, topic="x\x00y")], tmp_path / "s")
    feed = lxml.etree.fromstring((tmp_path / "s" / "feed.xml").read_bytes())
    assert feed.xpath("a:entry/a:category/@term", namespaces=NS) == ["xy"]
