"""Renderer: house format in Markdown and HTML, sanitizing, determinism, JSON."""

from __future__ import annotations

import json
import re
from typing import Any

import lxml.html
import pytest
from lxml.html import HtmlElement
from markdown_it import MarkdownIt

from pipeline.article import render
from pipeline.errors import RenderError
from pipeline.models.article import (
    Article,
    Bullet,
    BulletCheck,
    Draft,
    DraftSection,
    Provenance,
    Reference,
)
from pipeline.models.corpus import Citation, EvidenceLevel

QUESTION = "Does intravenous immunoglobulin reduce stiffness in stiff-person syndrome?"
HEADLINE = "IVIG probably reduces stiffness in antibody-positive stiff-person syndrome"
SUMMARY = "A small crossover trial and a cohort study point to benefit."
BOTTOM_LINE = "Consider IVIG after symptomatic drugs fail; evidence is limited."


def make_article(**overrides: Any) -> Article:
    """A realistic extractive draft: 2 sections, 3 bullets (one flagged), 2 references."""
    citations = [
        Citation(
            id="pmid:111", title="Crossover trial of IVIG in stiff-person syndrome", year=2001
        ),
        Citation(id="pmid:222", title="Long-term IVIG in stiff-person syndrome", year=2020),
    ]
    fields: dict[str, Any] = {
        "slug": "ivig-sps",
        "question": QUESTION,
        "draft": Draft(
            headline=HEADLINE,
            summary=SUMMARY,
            sections=[
                DraftSection(
                    heading="Trial evidence",
                    lead="Two studies address the question.",
                    bullets=[
                        Bullet(text="Stiffness scores fell during IVIG.", citations=[1]),
                        Bullet(
                            text="Most responders stayed improved on maintenance.", citations=[1, 2]
                        ),
                    ],
                ),
                DraftSection(
                    heading="Limits",
                    bullets=[
                        Bullet(text="Seronegative patients were rarely enrolled.", citations=[2])
                    ],
                ),
            ],
            bottom_line=BOTTOM_LINE,
            related_questions=["What is first-line treatment for stiff-person syndrome?"],
        ),
        "references": [
            Reference(
                number=n,
                citation_id=c.id,
                citation=c,
                text=f"Author A. {c.title}. J Neurol. {c.year}.",
                evidence_level=level,
                url=f"https://pubmed.ncbi.nlm.nih.gov/{c.id[5:]}/",
            )
            for n, c, level in [
                (1, citations[0], EvidenceLevel.RCT),
                (2, citations[1], EvidenceLevel.OBSERVATIONAL),
            ]
        ],
        "checks": [
            BulletCheck(section=0, bullet=0, numbers=[1], support=0.8),
            BulletCheck(
                section=0,
                bullet=1,
                numbers=[1, 2],
                support=0.1,
                flagged=True,
                reason="low lexical overlap",
            ),
            BulletCheck(section=1, bullet=0, numbers=[2], support=0.7),
        ],
        "status": "draft",
        "last_updated": "2026-01-05",
        "provenance": Provenance(
            drafter="extractive",
            corpus_version="c0ffee",
            prompt_versions={"draft": "v2", "check": "v1"},
            settings_hash="5e771265",
        ),
    }
    fields.update(overrides)
    return Article(**fields)


def parse(html: str) -> HtmlElement:
    tree = lxml.html.document_fromstring(html)
    assert isinstance(tree, HtmlElement)
    return tree


def html_tree(article: Article) -> HtmlElement:
    return parse(render.to_html(article))


def body_text(article: Article) -> str:
    return " ".join(html_tree(article).body.text_content().split())


def by_class(root: HtmlElement, tag: str, cls: str) -> list[HtmlElement]:
    """Descendants ``tag.cls`` (lxml's cssselect needs a package the project does not ship)."""
    found: list[HtmlElement] = root.xpath(
        f".//{tag}[contains(concat(' ', normalize-space(@class), ' '), ' {cls} ')]"
    )
    return found


def assert_in_order(text: str, parts: list[str]) -> None:
    position = -1
    for part in parts:
        found = text.find(part, position + 1)
        assert found > position, f"{part!r} missing or out of order"
        position = found


HOUSE_PARTS = [
    QUESTION,
    "Review status",
    "Submitted",
    "Under Review",
    "Approved",
    render.CAUTION,
    render.EXTRACTIVE_NOTICE,
    "Last updated: January 5, 2026",
    "For clinicians",
    HEADLINE,
    SUMMARY,
    "Trial evidence",
    "Two studies address the question.",
    "Stiffness scores fell",
    "Limits",
    "Bottom Line",
    BOTTOM_LINE,
    "References",
    "Crossover trial of IVIG",
    "Randomized controlled trial",
    "Long-term IVIG",
    "Cohort / case-control study",
    "Related Questions",
    "What is first-line treatment",
    "Professional disclaimer",
    "treating clinician",
    "extractive",
    "c0ffee",
    "check v1, draft v2",
    "5e771265",
]


def test_markdown_has_every_house_part_in_order() -> None:
    markdown = render.to_markdown(make_article())
    assert markdown.startswith(f"# {QUESTION}\n")
    assert f"\n**{HEADLINE}**\n" in markdown
    assert_in_order(markdown, HOUSE_PARTS)
    assert_in_order(
        markdown,
        [
            "\n## Trial evidence\n",
            "\n## Limits\n",
            "\n## Bottom Line\n",
            "\n## References\n",
            "\n## Related Questions\n",
        ],
    )


def test_html_has_every_house_part_in_order() -> None:
    tree = html_tree(make_article())
    assert [h.text_content() for h in tree.iter("h1")] == [QUESTION]
    assert [h.text_content() for h in tree.iter("h2")] == [
        "Trial evidence",
        "Limits",
        "Bottom Line",
        "References",
        "Related Questions",
    ]
    assert by_class(tree, "p", "headline")[0].find("strong").text_content() == HEADLINE
    assert_in_order(body_text(make_article()), HOUSE_PARTS)


def test_html_is_a_standalone_page() -> None:
    page = render.to_html(make_article())
    assert page.startswith("<!DOCTYPE html>")
    tree = parse(page)
    assert tree.get("lang") == "en"
    assert tree.xpath("/html/head/meta/@charset") == ["utf-8"]
    assert tree.findtext("head/title") == QUESTION
    assert "li.flagged" in tree.findtext("head/style", "")


def test_markdown_bullets_end_with_citation_numbers() -> None:
    bullets = [
        line
        for line in render.to_markdown(make_article()).splitlines()
        if line.startswith("- ") and "first-line" not in line
    ]
    assert bullets == [
        "- Stiffness scores fell during IVIG. [1]",
        "- Most responders stayed improved on maintenance. [1, 2] ⚠ low support",
        "- Seronegative patients were rarely enrolled. [2]",
    ]


def test_bullet_without_citations_gets_no_brackets() -> None:
    article = make_article()
    article.draft.sections[1].bullets[0].citations = []
    assert "\n- Seronegative patients were rarely enrolled.\n" in render.to_markdown(article)
    item = html_tree(article).xpath("//li[contains(., 'Seronegative')]")[0]
    assert item.text_content() == "Seronegative patients were rarely enrolled."


def test_every_citation_link_has_a_reference_anchor() -> None:
    tree = html_tree(make_article())
    links = by_class(tree, "a", "cite")
    assert [a.text_content() for a in links] == ["1", "1", "2", "2"]
    for link in links:
        number = link.get("data-ref")
        assert link.get("href") == f"#ref-{number}"
        assert len(tree.xpath(f"//*[@id='ref-{number}']")) == 1
    assert [li.get("id") for li in by_class(tree, "section", "references")[0].iter("li")] == [
        "ref-1",
        "ref-2",
    ]


def test_citation_without_reference_is_not_linked() -> None:
    article = make_article()
    article.draft.sections[1].bullets[0].citations = [2, 9]
    tree = html_tree(article)
    assert {a.get("href") for a in by_class(tree, "a", "cite")} == {"#ref-1", "#ref-2"}
    assert "rarely enrolled. [2, 9]" in body_text(article)


def test_flagged_bullet_is_marked_in_html() -> None:
    tree = html_tree(make_article())
    flagged = by_class(tree, "li", "flagged")
    assert len(flagged) == 1
    assert "Most responders" in flagged[0].text_content()
    assert by_class(flagged[0], "span", "flag-note")[0].text_content() == render.FLAG_NOTE
    assert len(by_class(tree, "span", "flag-note")) == 1


@pytest.mark.parametrize(
    ("status", "current", "done", "caution"),
    [
        ("draft", "Draft", [], True),
        ("submitted", "Submitted", [], True),
        ("under_review", "Under Review", ["Submitted"], True),
        ("changes_requested", "Under Review (changes requested)", ["Submitted"], True),
        ("approved", "Approved", ["Submitted", "Under Review"], False),
        ("published", "Approved", ["Submitted", "Under Review"], False),
        ("withdrawn", "Withdrawn", [], True),
    ],
)
def test_status_badge_and_caution(
    status: str, current: str, done: list[str], caution: bool
) -> None:
    article = make_article(status=status)
    tree = html_tree(article)
    badge = tree.xpath("//div[@class='status'][@role='status']")[0]
    assert [s.text_content() for s in by_class(badge, "span", "step-current")] == [current]
    assert [s.text_content() for s in by_class(badge, "span", "step-done")] == [
        f"{d} ✓" for d in done
    ]
    assert "Submitted" in badge.text_content() and "Approved" in badge.text_content()
    markdown = render.to_markdown(article)
    assert f"**{current}**" in markdown
    assert (render.CAUTION in markdown) is caution
    assert (render.CAUTION in body_text(article)) is caution


def test_extractive_label_only_for_extractive_drafts() -> None:
    extractive = make_article()
    llm = make_article(provenance=Provenance(drafter="llm", model="gpt-4o-mini"))
    assert render.EXTRACTIVE_NOTICE in render.to_markdown(extractive)
    assert render.EXTRACTIVE_NOTICE in body_text(extractive)
    assert render.EXTRACTIVE_NOTICE not in render.to_markdown(llm)
    assert render.EXTRACTIVE_NOTICE not in body_text(llm)
    assert "Drafter: language model gpt-4o-mini" in body_text(llm)


def test_patient_audience_uses_plain_wording_but_same_structure() -> None:
    article = make_article(audience="patient")
    markdown = render.to_markdown(article)
    assert "For patients" in markdown and "For clinicians" not in markdown
    assert "Professional disclaimer" not in markdown
    assert "Talk to your doctor" in markdown
    assert "\n## Bottom Line\n" in markdown


def test_insufficient_evidence_shows_drafter_text_and_no_extra_sections() -> None:
    draft = Draft(
        headline="The sources found do not answer this question",
        summary="None.",
        bottom_line="Evidence is insufficient to advise.",
        insufficient_evidence=True,
    )
    article = make_article(draft=draft, references=[], checks=[])
    markdown = render.to_markdown(article)
    assert "**The sources found do not answer this question**" in markdown
    assert "Evidence is insufficient to advise." in markdown
    assert re.findall(r"^## .*", markdown, flags=re.M) == ["## Bottom Line", "## References"]
    assert "No sources were cited." in markdown
    assert [h.text_content() for h in html_tree(article).iter("h2")] == [
        "Bottom Line",
        "References",
    ]


def test_reference_links_only_for_safe_schemes() -> None:
    article = make_article()
    article.references[1].url = " JavaScript:alert(1)"
    tree = html_tree(article)
    hrefs = [a.get("href") for a in by_class(tree, "section", "references")[0].iter("a")]
    assert hrefs == ["https://pubmed.ncbi.nlm.nih.gov/111/"]
    assert "](https://pubmed.ncbi.nlm.nih.gov/111/)" in render.to_markdown(article)
    assert "alert" not in render.to_markdown(article)


PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    '"><svg onload=alert(1)>',
    "<a href='javascript:alert(1)'>x</a> & *bold* `code` # not-a-heading",
]


def hostile_article(payload: str) -> Article:
    article = make_article(question=f"Q {payload}", status="approved")
    article.draft.headline = f"H {payload}"
    article.draft.summary = f"S {payload}"
    article.draft.sections[0].heading = f"Sec {payload}"
    article.draft.sections[0].lead = f"L {payload}"
    article.draft.sections[0].bullets[0].text = f"B {payload}"
    article.draft.bottom_line = f"BL {payload}"
    article.draft.related_questions = [f"R {payload}"]
    reference = article.references[0]
    reference.citation.title = f"T {payload}"
    reference.text = f"Author A. T {payload}. J Neurol. 2001."
    article.provenance.corpus_version = f"C {payload}"
    return article


def assert_no_active_content(tree: HtmlElement, allow_style: bool) -> None:
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        assert element.tag not in {"script", "img", "svg", "iframe", "object", "embed"}
        assert allow_style or element.tag != "style"
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), (element.tag, name)
            if name in {"href", "src", "action", "formaction"}:
                assert not value.strip().lower().startswith("javascript:"), value


@pytest.mark.parametrize("payload", PAYLOADS)
def test_html_neutralizes_injected_markup(payload: str) -> None:
    article = hostile_article(payload)
    page = render.to_html(article)
    tree = parse(page)
    assert_no_active_content(tree.body, allow_style=False)
    assert [s.text for s in tree.iter("style")] and len(list(tree.iter("style"))) == 1
    assert tree.findtext("head/title") == f"Q {payload}"
    text = tree.body.text_content()
    for prefix in ["Q", "H", "S", "Sec", "L", "B", "BL", "R", "T", "C"]:
        assert f"{prefix} {payload}" in text, prefix
    assert "<script" not in page.lower()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_markdown_neutralizes_injected_markup(payload: str) -> None:
    markdown = render.to_markdown(hostile_article(payload))
    for raw in ["<script", "<img", "<svg", "<a "]:
        assert raw not in markdown
    # Render with a CommonMark parser that passes raw HTML through: still nothing active.
    html = MarkdownIt("commonmark").render(markdown)
    tree = parse(html)
    assert_no_active_content(tree, allow_style=False)
    links = [a.get("href") for a in tree.iter("a")]
    assert links == ["https://pubmed.ncbi.nlm.nih.gov/111/", "https://pubmed.ncbi.nlm.nih.gov/222/"]
    assert [h.text_content() for h in tree.iter("h1")] == [f"Q {payload}"]
    text = tree.text_content()
    for prefix in ["H", "S", "Sec", "L", "B", "BL", "R", "T", "C"]:
        assert f"{prefix} {payload}" in text, prefix


def test_sanitizer_keeps_the_allow_list_only() -> None:
    dirty = (
        '<div class="status" role="status" aria-label="s" onclick="x()">'
        '<a href="#ref-1" class="cite" data-ref="1">1</a>'
        '<a href="javascript:alert(1)">j</a><a href="page.html">r</a>'
        '<a href="https://example.org/">h</a><span aria-hidden="true" style="x">s</span>'
        "<script>alert(1)</script><img src=x><style>p{}</style></div>"
    )
    tree = parse(render.sanitize_html(dirty))
    assert_no_active_content(tree, allow_style=False)
    div = tree.xpath("//div")[0]
    assert dict(div.attrib) == {"class": "status", "role": "status", "aria-label": "s"}
    assert [a.get("href") for a in tree.iter("a")] == ["#ref-1", None, None, "https://example.org/"]
    assert tree.xpath("//a[@data-ref='1']/@class") == ["cite"]
    assert dict(tree.xpath("//span")[0].attrib) == {}
    assert "alert" not in tree.text_content()


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain words, (95% CI 0.5-0.9).", "plain words, (95% CI 0.5-0.9)."),
        ("a <b> & c", "a &lt;b&gt; &amp; c"),
        ("*x* _y_ `z` [l](u) # ~s~ \\", r"\*x\* \_y\_ \`z\` \[l\](u) \# \~s\~ \\"),
        ("1. not a list", r"1\. not a list"),
        ("- not a bullet", r"\- not a bullet"),
    ],
)
def test_escape_markdown(text: str, escaped: str) -> None:
    assert render.escape_markdown(text) == escaped


def test_untrusted_newlines_cannot_start_markdown_blocks() -> None:
    article = make_article()
    article.draft.sections[0].bullets[0].text = "first\n\n# Injected heading\n- injected bullet"
    markdown = render.to_markdown(article)
    assert "\n# Injected" not in markdown and "\n- injected" not in markdown
    assert "- first \\# Injected heading - injected bullet [1]" in markdown


@pytest.mark.parametrize(
    ("iso", "spelled"),
    [("2026-01-05", "January 5, 2026"), ("2025-12-31T08:30:00+00:00", "December 31, 2025")],
)
def test_format_date(iso: str, spelled: str) -> None:
    assert render.format_date(iso) == spelled


def test_bad_date_raises_with_hint() -> None:
    with pytest.raises(RenderError) as info:
        render.to_markdown(make_article(last_updated="5 Jan 2026"))
    assert "2026-01-05" in info.value.hint


def test_rendering_is_deterministic() -> None:
    first, second = make_article(), make_article()
    for fn in (render.to_markdown, render.to_html, render.to_json):
        assert fn(first) == fn(second) == fn(first)


def test_json_is_the_model_dump() -> None:
    article = make_article()
    text = render.to_json(article)
    assert json.loads(text) == article.model_dump(mode="json")
    assert text.startswith('{\n  "slug": "ivig-sps",')
    assert Article.model_validate_json(text) == article
