"""The one sanitiser: the article allow-list, and the site's explicit widening of it."""

from __future__ import annotations

import pytest

from pipeline.article.sanitize import sanitize_html

HOSTILE = (
    '<script>alert(1)</script><img src=x onerror=alert(1)><a href="javascript:alert(1)">j</a>'
    '<p style="color:red" onclick="x()">p</p><div role="alert" aria-live="x">d</div>'
)


@pytest.mark.parametrize("site", [False, True])
def test_both_lists_drop_scripts_handlers_styles_and_javascript_links(site: bool) -> None:
    out = sanitize_html(HOSTILE, site=site)
    for gone in ("<script", "alert(1)</", "<img", "onerror", "javascript:", "style=", "onclick",
                 'role="alert"'):  # fmt: skip
        assert gone not in out
    assert "<p>p</p>" in out and 'aria-live="x"' in out


@pytest.mark.parametrize(
    ("html", "kept"),
    [
        ('<a href="articles/a-b.html">x</a>', 'href="articles/a-b.html"'),
        ('<a href="../feed.xml">x</a>', 'href="../feed.xml"'),
        ('<a href="index.html">x</a>', 'href="index.html"'),
        ('<h2 id="top">t</h2>', 'id="top"'),
        ('<nav class="n">n</nav>', 'class="n"'),
        ('<nav aria-label="l">n</nav>', 'aria-label="l"'),
        ('<ul class="u"><li>i</li></ul>', 'class="u"'),
        ('<strong class="s">b</strong>', 'class="s"'),
    ],
)
def test_the_site_list_adds_its_chrome_to_the_article_list(html: str, kept: str) -> None:
    assert kept not in sanitize_html(html)
    assert kept in sanitize_html(html, site=True)


@pytest.mark.parametrize("site", [False, True])
@pytest.mark.parametrize(
    ("html", "kept"),
    [
        ('<a href="#ref-1" class="cite" data-ref="1">1</a>', 'href="#ref-1" class="cite"'),
        ('<a href="https://e.org/">x</a>', 'href="https://e.org/"'),
        ('<a href="mailto:a@e.org">x</a>', 'href="mailto:a@e.org"'),
        ('<li id="ref-2" class="c">r</li>', 'id="ref-2" class="c"'),
        ('<div class="status" role="status" aria-label="s">s</div>', 'role="status"'),
    ],
)
def test_both_lists_keep_the_article_markup(html: str, kept: str, site: bool) -> None:
    assert kept in sanitize_html(html, site=site)


def test_only_the_article_list_keeps_odd_in_page_fragments() -> None:
    """The article list keeps any ``#fragment``; the site list only ``#[A-Za-z0-9_-]+``."""
    html = '<a href="#a.b">x</a>'
    assert 'href="#a.b"' in sanitize_html(html)
    assert "href" not in sanitize_html(html, site=True)
