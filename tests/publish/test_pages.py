"""pipeline.publish.pages: every page parses and links resolve; article, index, policy pages."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from tests.article.test_render import assert_no_active_content, by_class
from tests.support.site_entries import IVIG, page


def test_every_page_parses_and_every_internal_link_resolves(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) == 8
    checked = 0
    for path in pages:
        tree = page(path)
        assert tree.findtext("head/title")
        assert_no_active_content(tree.body, allow_style=False)
        for element in tree.iter("a", "link"):
            href = element.get("href", "")
            parts = urlsplit(href)
            if parts.scheme or href.startswith("//"):
                continue
            target = (path.parent / parts.path).resolve() if parts.path else path
            assert target.is_file(), f"{path.name}: {href}"
            assert site.resolve() in target.parents
            if parts.fragment:
                assert page(target).xpath("//*[@id=$id]", id=parts.fragment), f"{path}: {href}"
            checked += 1
    assert checked > 60


def test_article_page_has_badge_review_line_date_policy_and_disclaimer(site: Path) -> None:
    tree = page(site / "articles" / "ivig-sps.html")
    badge = tree.xpath("//div[@class='status'][@role='status']")[0]
    assert [s.text_content() for s in by_class(badge, "span", "step-current")] == ["Approved"]
    text = " ".join(tree.body.text_content().split())
    assert "Last updated: January 5, 2026" in text  # the approval date, not last_updated
    assert "Reviewed by Dr Ada Lovelace and Dr Grace Hopper" in text
    assert "pending human review" not in text
    assert tree.xpath("//a[text()='View editorial policy']/@href") == ["../editorial-policy.html"]
    assert by_class(tree, "section", "disclaimer")
    assert tree.findtext("head/title") == f"{IVIG} · Evidence Press"
    assert ".audience-switch" in tree.findtext("head/style", "")


def test_audience_switch_links_both_ways(site: Path) -> None:
    clinician = page(site / "articles" / "ivig-sps.html")
    patient = page(site / "articles" / "ivig-sps-patient.html")
    for tree, here, other, href in [
        (clinician, "For clinicians", "For patients", "ivig-sps-patient.html"),
        (patient, "For patients", "For clinicians", "ivig-sps.html"),
    ]:
        switch = by_class(tree, "nav", "audience-switch")[0]
        assert "Which best describes you?" in switch.text_content()
        assert [(a.text_content(), a.get("href")) for a in switch.iter("a")] == [(other, href)]
        assert by_class(switch, "strong", "audience-current")[0].text_content() == here
    assert not by_class(page(site / "articles" / "aspirin-over-70.html"), "nav", "audience-switch")


def test_index_groups_by_topic_newest_first(site: Path) -> None:
    tree = page(site / "index.html")
    topics = by_class(tree, "section", "topic")
    assert [s.findtext("h2") for s in topics] == ["Cardiology", "Neurology", "General"]
    neurology = [a.get("href") for a in topics[1].iter("a")]
    assert neurology == [
        "articles/ivig-sps-patient.html",
        "articles/ivig-sps.html",
        "articles/sps-first-line.html",
    ]
    assert [a.get("href") for a in by_class(tree, "nav", "topics")[0].iter("a")] == [
        "#topic-cardiology",
        "#topic-neurology",
        "#topic-general",
    ]
    assert "Approved January 7, 2026" in topics[0].text_content()


def test_editorial_policy_page(site: Path) -> None:
    text = page(site / "editorial-policy.html").body.text_content()
    for words in ["Medical Advisory Board", "revision", "withdrawn", "cited", "Last updated"]:
        assert words in text
