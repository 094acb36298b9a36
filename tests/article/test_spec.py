"""The house format is described once (pipeline.article.spec); render, parse and check follow it."""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import HealthCheck, given, settings

from pipeline.article import render, spec
from pipeline.article.check import STRUCTURE_PARTS, structure_check
from pipeline.article.parse import EditError, parse_article_markdown
from pipeline.models.article import Article
from tests.article.test_parse import articles
from tests.article.test_render import make_article

RENAMED = dataclasses.replace(
    spec.HOUSE,
    review_status="Editorial state",
    last_updated="Revised",
    bottom_line="In Short",
    references="Sources",
    no_sources="Nothing cited.",
    related_questions="See Also",
    provenance="Made with",
    flag_suffix="(weak support)",
    flag_note="Weak support",
)
"""Every label of the house format, renamed."""


def rerender(article: Article) -> str:
    """Render, parse the Markdown back, and render the parsed draft again."""
    markdown = render.to_markdown(article)
    draft = parse_article_markdown(markdown, article)
    return render.to_markdown(article.model_copy(update={"draft": draft}))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(articles())
def test_render_parse_render_gives_identical_markdown(article: Article) -> None:
    assert rerender(article) == render.to_markdown(article)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(articles())
def test_round_trip_holds_under_a_renamed_spec(article: Article) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(spec, "HOUSE", RENAMED)
        assert rerender(article) == render.to_markdown(article)


def test_renamed_headings_reach_render_parse_and_check(monkeypatch: pytest.MonkeyPatch) -> None:
    article = make_article(status="under_review")
    article.checks[0] = article.checks[0].model_copy(update={"flagged": True})
    old = render.to_markdown(article)
    old_draft = parse_article_markdown(old, article)
    monkeypatch.setattr(spec, "HOUSE", RENAMED)
    new = render.to_markdown(article)
    html = render.to_html_fragment(article)

    # render: every label is the renamed one, in Markdown and in HTML
    for heading in ("In Short", "Sources", "See Also"):
        assert f"\n## {heading}\n" in new
        assert f"<h2>{heading}</h2>" in html
    for line in ("Editorial state: ", "Revised: ", "Made with: "):
        assert re.search(rf"^{line}", new, re.MULTILINE)
    assert "(weak support)" in new and "Weak support" in html
    for gone in ("Bottom Line", "References", "Related Questions", "Review status", "Provenance"):
        assert gone not in new
    assert "Bottom Line" not in html and "Last updated" not in html

    # parse: the renamed Markdown reads back; the old one no longer has its Bottom Line
    assert parse_article_markdown(new, article) == old_draft
    with pytest.raises(EditError, match="no '## In Short' heading"):
        parse_article_markdown(old, article)

    # check: the renamed Markdown passes every part; the old one fails the renamed ones (and
    # its evidence sections: "## Related Questions" is now a section of uncited bullets, and
    # the old flag is not the flag any more)
    assert all(structure_check(new, abstained=False).values())
    stale = structure_check(old, abstained=False)
    failed = {part for part, ok in stale.items() if not ok}
    assert failed == {"review_status", "last_updated", "evidence_sections", "bottom_line",
                      "references", "related_questions"}  # fmt: skip


def test_renamed_no_sources_line_is_what_an_abstention_is_checked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    article = make_article(references=[])
    monkeypatch.setattr(spec, "HOUSE", RENAMED)
    markdown = render.to_markdown(article)
    assert "\n## Sources\n\nNothing cited.\n" in markdown
    assert structure_check(markdown, abstained=True)["references"] is True
    with_old_line = markdown.replace("Nothing cited.", "No sources were cited.")
    assert structure_check(with_old_line, abstained=True)["references"] is False


def test_checked_parts_are_the_specs_blocks_in_page_order() -> None:
    assert tuple(b.name for b in spec.BLOCKS if b.checked) == STRUCTURE_PARTS
    lines = render.to_markdown(make_article(status="submitted")).splitlines()
    house = spec.HOUSE

    def first(predicate: object) -> int:
        assert callable(predicate)
        return next(i for i, line in enumerate(lines) if predicate(line))

    where = {
        "question": first(lambda s: s.startswith("# ")),
        "review_status": first(lambda s: s.startswith(house.prefix(house.review_status))),
        "caution": first(lambda s: s == render.CAUTION),
        "extractive_notice": first(lambda s: s == render.EXTRACTIVE_NOTICE),
        "last_updated": first(lambda s: s.startswith(house.prefix(house.last_updated))),
        "verdict_headline": first(lambda s: spec.BOLD_LINE.match(s) is not None),
        "summary": first(lambda s: s == render.escape_markdown(make_article().draft.summary)),
        "evidence_sections": first(lambda s: s == "## Trial evidence"),
        "bottom_line": first(lambda s: s == house.heading(house.bottom_line)),
        "references": first(lambda s: s == house.heading(house.references)),
        "related_questions": first(lambda s: s == house.heading(house.related_questions)),
        "disclaimer": first(lambda s: spec.DISCLAIMER.match(s) is not None and "Bottom" not in s),
        "provenance": first(lambda s: s.startswith(house.prefix(house.provenance))),
    }
    assert list(where) == [b.name for b in spec.BLOCKS]
    assert [where[b.name] for b in spec.BLOCKS] == sorted(where.values())


def test_labels_are_escaped_like_any_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spec, "HOUSE", dataclasses.replace(spec.HOUSE, bottom_line="1. *Net*"))
    article = make_article()
    markdown = render.to_markdown(article)
    assert "\n## 1\\. \\*Net\\*\n" in markdown
    assert parse_article_markdown(markdown, article).bottom_line == article.draft.bottom_line
    assert structure_check(markdown, abstained=False)["bottom_line"] is True
