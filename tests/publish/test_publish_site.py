"""Static site: layout, links, feeds, related questions, refusals, XSS, atomicity, determinism."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import lxml.etree
import lxml.html
import pytest
from lxml.html import HtmlElement

from pipeline.article import render
from pipeline.errors import PressError, PublishError, UnapprovedEntryError, UnsafeSlugError
from pipeline.index.embeddings import MiniLMOnnxEmbeddings
from pipeline.models.article import (
    Article,
    Bullet,
    Draft,
    DraftSection,
    Provenance,
    Reference,
    SiteEntry,
)
from pipeline.models.corpus import Citation, EvidenceLevel
from pipeline.publish.site import build_site
from tests.article.test_render import assert_no_active_content, by_class

REPO = Path(__file__).resolve().parents[2]
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NS = {"a": "http://www.w3.org/2005/Atom"}

IVIG = "Does intravenous immunoglobulin reduce stiffness in stiff-person syndrome?"
SPS_FIRST_LINE = "What is the first-line drug treatment for stiff-person syndrome?"
ASPIRIN = "Does daily aspirin prevent a first heart attack in adults over 70?"
STATINS = "Should statins be started for primary prevention of heart attack in older adults?"
METFORMIN = "Is metformin safe for treating gestational diabetes in pregnancy?"


def article(slug: str, question: str, **overrides: Any) -> Article:
    """A realistic published article: two sections, cited bullets, two references."""
    citations = [
        Citation(id=f"pmid:{n}{len(slug)}", title=f"{question[:40]} study {n}", year=2019 + n)
        for n in (1, 2)
    ]
    fields: dict[str, Any] = {
        "slug": slug,
        "question": question,
        "draft": Draft(
            headline=f"Verdict on: {question}",
            summary="Two studies address the question; the evidence is moderate.",
            sections=[
                DraftSection(
                    heading="What the trials show",
                    lead="The best evidence comes from one trial.",
                    bullets=[
                        Bullet(text="Outcomes improved in the treated group.", citations=[1]),
                        Bullet(text="Effects persisted at one year.", citations=[1, 2]),
                    ],
                ),
                DraftSection(
                    heading="Limits", bullets=[Bullet(text="Samples were small.", citations=[2])]
                ),
            ],
            bottom_line="Consider it case by case.",
            related_questions=["How is the response monitored?"],
            verdict="maybe",
        ),
        "references": [
            Reference(
                number=n,
                citation_id=c.id,
                citation=c,
                text=f"Author A. {c.title}. J Med. {c.year}.",
                evidence_level=EvidenceLevel.RCT,
                url=f"https://pubmed.ncbi.nlm.nih.gov/{c.id[5:]}/",
            )
            for n, c in enumerate(citations, start=1)
        ],
        "status": "published",
        "last_updated": "2025-06-01",
        "provenance": Provenance(drafter="llm", model="gpt-4o-mini", corpus_version="c0ffee"),
    }
    fields.update(overrides)
    return Article(**fields)


def entry(slug: str, question: str, day: int, *, topic: str | None = None, **kw: Any) -> SiteEntry:
    reviewers = kw.pop("reviewed_by", ["Dr Ada Lovelace", "Dr Grace Hopper"])
    return SiteEntry(
        article=article(slug, question, **kw),
        revision_id=f"rev-{slug}",
        content_hash=f"hash-{slug}",
        approved_at=f"2026-01-{day:02d}T09:30:00+00:00",
        reviewed_by=reviewers,
        published_at=f"2026-01-{day:02d}T10:00:00+00:00",
        topic=topic,
    )


def entries() -> list[SiteEntry]:
    """Five questions, one of them in both audiences; three topics (one missing)."""
    return [
        entry("ivig-sps", IVIG, 5, topic="Neurology"),
        entry("ivig-sps-patient", IVIG, 6, topic="Neurology", audience="patient"),
        entry("sps-first-line", SPS_FIRST_LINE, 3, topic="Neurology"),
        entry("aspirin-over-70", ASPIRIN, 7, topic="Cardiology"),
        entry("statins-older-adults", STATINS, 2, topic="Cardiology"),
        entry("metformin-pregnancy", METFORMIN, 4),
    ]


@pytest.fixture(scope="module")
def minilm() -> MiniLMOnnxEmbeddings:
    return MiniLMOnnxEmbeddings()


@pytest.fixture
def site(tmp_path: Path, minilm: MiniLMOnnxEmbeddings) -> Path:
    build_site(entries(), tmp_path / "site", embeddings=minilm)
    return tmp_path / "site"


def page(path: Path) -> HtmlElement:
    tree = lxml.html.document_fromstring(path.read_text("utf-8"))
    assert isinstance(tree, HtmlElement)
    return tree


def links(tree: HtmlElement, cls: str) -> list[str]:
    return [a.get("href", "") for ul in by_class(tree, "ul", cls) for a in ul.iter("a")]


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_layout_and_report(tmp_path: Path) -> None:
    report = build_site(entries(), tmp_path / "out" / "site")
    site = tmp_path / "out" / "site"
    assert report.site_dir == site and report.articles == 6 and report.pages == 8
    assert set(report.files) == {p for p in snapshot(site) if not p.startswith(".")}
    for name in ["index.html", "editorial-policy.html", "articles.json", "feed.xml", "sitemap.xml"]:
        assert name in report.files
    assert "articles/ivig-sps-patient.html" in report.files
    assert sorted(p.name for p in site.parent.iterdir()) == [".site.lock", "site"]


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


def test_related_questions_link_nearest_other_articles_first(site: Path) -> None:
    tree = page(site / "articles" / "ivig-sps.html")
    related = links(tree, "related-links")
    assert related[0] == "sps-first-line.html"  # the other stiff-person question
    assert "ivig-sps.html" not in related and "ivig-sps-patient.html" not in related
    assert len(related) == 4  # five questions in all: itself (and its twin) excluded
    aspirin = links(page(site / "articles" / "aspirin-over-70.html"), "related-links")
    assert aspirin[0] == "statins-older-adults.html"
    assert "ivig-sps.html" in aspirin and "ivig-sps-patient.html" not in aspirin
    # The patient page links the other questions' versions in its own audience when they exist.
    assert links(page(site / "articles" / "ivig-sps-patient.html"), "related-links")[0] == (
        "sps-first-line.html"
    )
    section = by_class(tree, "section", "related")[0]
    assert [h.text_content() for h in section.iter("h2")] == ["Related Questions"]
    plain = by_class(section, "ul", "related-plain")[0]
    assert [li.text_content() for li in plain.iter("li")] == ["How is the response monitored?"]
    assert list(plain.iter("a")) == []
    assert [h.text_content() for h in tree.iter("h2")].count("Related Questions") == 1


def test_related_questions_without_embeddings_use_word_overlap(tmp_path: Path) -> None:
    build_site(entries(), tmp_path / "site")
    related = links(page(tmp_path / "site" / "articles" / "ivig-sps.html"), "related-links")
    assert related == ["sps-first-line.html"]  # the only question sharing content words
    assert not by_class(
        page(tmp_path / "site" / "articles" / "metformin-pregnancy.html"), "ul", "related-links"
    )


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


def test_empty_site_is_valid(tmp_path: Path) -> None:
    report = build_site([], tmp_path / "site")
    assert report.articles == 0 and report.pages == 2
    assert "No articles" in page(tmp_path / "site" / "index.html").body.text_content()
    assert lxml.etree.fromstring((tmp_path / "site" / "feed.xml").read_bytes()).tag == f"{ATOM}feed"


@pytest.mark.parametrize("status", ["draft", "submitted", "under_review", "withdrawn", "Approved"])
def test_unapproved_entry_is_refused_before_anything_is_written(
    tmp_path: Path, status: str
) -> None:
    bad = [*entries(), entry("not-yet", METFORMIN, 9, status=status)]
    with pytest.raises(UnapprovedEntryError) as info:
        build_site(bad, tmp_path / "site")
    assert "not-yet" in str(info.value) and info.value.hint
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize(
    "slug", ["../evil", "a/b", "a\\b", "..", "Up", "a.b", "a b", "", "-x", "é"]
)
def test_unsafe_slug_is_refused(tmp_path: Path, slug: str) -> None:
    with pytest.raises(UnsafeSlugError) as info:
        build_site([entry(slug, IVIG, 1)], tmp_path / "site")
    assert "[a-z0-9-]" in str(info.value) or "letters, digits" in str(info.value)
    assert isinstance(info.value, PressError)
    assert list(tmp_path.iterdir()) in ([], [tmp_path / "press-home"])


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: [entry("a", IVIG, 1), entry("a", ASPIRIN, 2)], "two entries"),
        (lambda: [entry("a", IVIG, 1, reviewed_by=[" "])], "no reviewer"),
        (lambda: [entry("a", IVIG, 1).model_copy(update={"approved_at": "yesterday"})], "ISO"),
    ],
)
def test_other_bad_entries_are_refused(tmp_path: Path, make: Any, words: str) -> None:
    with pytest.raises(PublishError, match=words):
        build_site(make(), tmp_path / "site")


def test_bad_base_url_and_foreign_directory_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PublishError, match="base_url"):
        build_site(entries(), tmp_path / "site", base_url="javascript:alert(1)")
    foreign = tmp_path / "docs"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("precious")
    with pytest.raises(PublishError, match="not built by Evidence Press"):
        build_site(entries(), foreign)
    assert (foreign / "keep.txt").read_text() == "precious"


PAYLOAD = '<script>alert(1)</script><img src=x onerror=alert(2)><a href="javascript:alert(3)">x</a>'


def test_xss_payloads_are_escaped_everywhere(tmp_path: Path) -> None:
    hostile = entry(
        "hostile",
        f"Q {PAYLOAD}",
        8,
        topic=f"T {PAYLOAD}",
        reviewed_by=[f"Dr {PAYLOAD}"],
        audience="patient",
    )
    hostile.article.draft.sections[0].bullets[0].text = f"B {PAYLOAD}"
    hostile.article.draft.headline = f"H {PAYLOAD}"
    hostile.article.draft.related_questions = [f"R {PAYLOAD}"]
    twin = entry("hostile-clinician", f"Q {PAYLOAD}", 8, reviewed_by=[f"Dr {PAYLOAD}"])
    build_site([*entries(), hostile, twin], tmp_path / "site", site_title=f"S {PAYLOAD}")
    for path in (tmp_path / "site").rglob("*.html"):
        tree = page(path)
        assert_no_active_content(tree.body, allow_style=False)
        assert_no_active_content(tree.head, allow_style=True)
        assert (
            len(list(tree.iter("style"))) == 1
            and not tree.xpath("//*[@style]")
            and "<script" not in path.read_text().lower()
        )
    tree = page(tmp_path / "site" / "articles" / "hostile.html")
    text = tree.body.text_content()
    for prefix in ["Q", "B", "H", "R", "Reviewed by Dr", "S"]:
        assert f"{prefix} {PAYLOAD}" in text, prefix
    assert "hostile-clinician.html" in [a.get("href") for a in tree.iter("a")]
    index_text = page(tmp_path / "site" / "index.html").body.text_content()
    assert f"T {PAYLOAD}" in index_text
    feed = lxml.etree.fromstring((tmp_path / "site" / "feed.xml").read_bytes())
    assert f"Q {PAYLOAD} (for patients)" in [t.text for t in feed.iter(f"{ATOM}title")]
    assert not list(feed.iter("script"))


def test_control_characters_do_not_break_xml(tmp_path: Path) -> None:
    build_site([entry("ctl", "Bell \x07 and \x1b escape?", 1, topic="x\x00y")], tmp_path / "s")
    feed = lxml.etree.fromstring((tmp_path / "s" / "feed.xml").read_bytes())
    assert feed.xpath("a:entry/a:category/@term", namespaces=NS) == ["xy"]


def test_builds_are_deterministic_and_order_independent(
    tmp_path: Path, minilm: MiniLMOnnxEmbeddings
) -> None:
    shuffled = entries()
    random.Random(7).shuffle(shuffled)
    build_site(entries(), tmp_path / "one", embeddings=minilm)
    build_site(shuffled, tmp_path / "two", embeddings=minilm)
    first = snapshot(tmp_path / "one")
    assert first == snapshot(tmp_path / "two")
    build_site(entries(), tmp_path / "one", embeddings=minilm)  # rebuild in place
    assert snapshot(tmp_path / "one") == first


def test_crash_while_rendering_keeps_the_old_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    build_site(entries()[:3], site)
    before = snapshot(site)
    real = render.to_html_fragment
    calls = 0

    def flaky(article: Article) -> str:
        nonlocal calls
        calls += 1
        if calls > 2:
            raise RuntimeError("renderer crashed")
        return real(article)

    monkeypatch.setattr("pipeline.publish.pages.to_html_fragment", flaky)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        build_site(entries(), site)
    assert snapshot(site) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".site")) == [
        ".site.lock"
    ]
    monkeypatch.setattr("pipeline.publish.pages.to_html_fragment", real)
    assert build_site(entries(), site).articles == 6
    assert len(list((site / "articles").iterdir())) == 6


CRASH = """
import os, sys
from pathlib import Path
from pipeline.publish import pages, site as publish
from tests.publish.test_publish_site import entries
mode = sys.argv[1]
if mode == "render":
    real = pages.to_html_fragment
    calls = []
    def dying(article):
        calls.append(1)
        if len(calls) > 2:
            os._exit(9)
        return real(article)
    pages.to_html_fragment = dying
else:
    import pipeline.atomic as atomic_dir
    real_rename = atomic_dir.rename
    def dying_rename(source, target):
        real_rename(source, target)
        if ".old-" in target.name:
            os._exit(9)
    atomic_dir.rename = dying_rename
publish.build_site(entries(), Path(sys.argv[2]))
"""


@pytest.mark.parametrize("mode", ["render", "between-renames"])
def test_hard_crash_leaves_a_complete_site_and_next_build_cleans_up(
    tmp_path: Path, mode: str
) -> None:
    site = tmp_path / "site"
    build_site(entries()[:2], site)
    before = snapshot(site)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CRASH), mode, str(site)], env=env, cwd=REPO
    )
    assert done.returncode == 9
    leftovers = sorted(
        p.name.split("-")[0] for p in tmp_path.iterdir() if p.name.startswith(".site.")
    )
    if mode == "render":
        assert snapshot(site) == before  # untouched
        assert leftovers == [".site.lock", ".site.tmp"]
    else:
        assert not site.exists()  # the old site waits, complete, under its .old name
        old = next(p for p in tmp_path.iterdir() if ".old-" in p.name)
        assert snapshot(old) == before
        assert leftovers == [".site.lock", ".site.old", ".site.tmp"]
    report = build_site(entries(), site)
    assert report.articles == 6 and (site / "articles" / "metformin-pregnancy.html").is_file()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".site")) == [
        ".site.lock"
    ]


DESK = "https://desk.example.org/press&co/"


def csp(tree: HtmlElement) -> str:
    [policy] = tree.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")
    return str(policy)


def test_follow_up_form_points_at_the_desk_only_when_one_is_set(tmp_path: Path) -> None:
    build_site(entries(), tmp_path / "desk", desk_url=DESK)
    raw = (tmp_path / "desk" / "articles" / "ivig-sps.html").read_text("utf-8")
    assert 'action="https://desk.example.org/press&amp;co/articles/ivig-sps/follow-up"' in raw
    tree = page(tmp_path / "desk" / "articles" / "ivig-sps.html")
    [form] = tree.xpath("//section[@class='follow-up-box']//form")
    assert (form.get("method"), form.get("action")) == (
        "get",
        "https://desk.example.org/press&co/articles/ivig-sps/follow-up",
    )
    [field] = form.xpath(".//input[@name='question']")
    [label] = form.xpath(f".//label[@for='{field.get('id')}']")
    assert label.text_content().strip() and field.get("type") == "text"
    assert "Have a follow-up question?" in tree.xpath("//h2[@id='follow-up-heading']/text()")
    assert "form-action https://desk.example.org;" in csp(tree) + ";"
    index = page(tmp_path / "desk" / "index.html")
    assert not index.xpath("//form") and "form-action 'none'" in csp(index)

    build_site(entries(), tmp_path / "plain")
    plain = page(tmp_path / "plain" / "articles" / "ivig-sps.html")
    assert not plain.xpath("//form") and "form-action 'none'" in csp(plain)
    assert plain.xpath("//p[@class='follow-up']/a/@href") == ["../index.html"]


@pytest.mark.parametrize(
    "bad", ["javascript:alert(1)", "https://desk.example.org/\"onmouseover='x'", "ftp://x", "/desk"]
)
def test_a_bad_desk_url_is_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(PressError, match="desk_url"):
        build_site(entries(), tmp_path / "site", desk_url=bad)
    assert not (tmp_path / "site").exists()


def test_follow_up_action_quotes_the_slug() -> None:
    from pipeline.publish.follow_up_form import desk_base, follow_up_form
    form = follow_up_form(desk_base("http://127.0.0.1:8000/"), "a b/../c?d#e")
    assert form is not None and form.origin == "http://127.0.0.1:8000"
    assert form.action == "http://127.0.0.1:8000/articles/a%20b%2F..%2Fc%3Fd%23e/follow-up"
    assert follow_up_form(desk_base(None), "x") is None
