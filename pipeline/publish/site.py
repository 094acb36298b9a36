"""Publish approved articles as a static site, swapped in atomically.

Design
------
:func:`build_site` receives the published :class:`~pipeline.models.article.SiteEntry` list
(the review workflow decides what is approved) and writes the *whole* site each time::

    site_dir/
      index.html               articles grouped by topic, newest approval first
      editorial-policy.html    how articles are drafted, reviewed, approved, updated, retracted
      articles/<slug>.html     one page per entry, in the house format
      articles.json            JSON export of every entry
      feed.xml                 Atom 1.0, one entry per article (id stable per slug)
      sitemap.xml              sitemap protocol 0.9

This module is the build: it checks the entries (:mod:`~pipeline.publish.entries`), renders
the pages (:mod:`~pipeline.publish.pages`), the JSON export, feed and sitemap
(:mod:`~pipeline.publish.feeds`) with the Related Questions links
(:mod:`~pipeline.publish.related`), and swaps the result in.

Every page inlines the one site stylesheet (``article.css`` + ``site/site.css``) so it works
from any host, path or ``file://``; the Content-Security-Policy allows no scripts at all.

**Safety.** Every entry is checked before anything is written: an article whose status is not
``approved``/``published`` is refused (:class:`UnapprovedEntryError`), as are slugs outside
``[a-z0-9-]`` (:class:`UnsafeSlugError`, so no path traversal), duplicate slugs, entries with
no reviewer and malformed timestamps. Article bodies come from
:func:`pipeline.article.render.to_html_fragment` (autoescaped, cleaned by ``render.sanitize_html``);
the site chrome around them is autoescaped too, and the whole page body is cleaned again
with the site allow-list of :mod:`pipeline.article.sanitize` (``site=True``: adds ``nav`` and
links to the site's own relative pages). Templates are the ``site/`` namespace of the one
environment (:mod:`pipeline.templating`); feed and sitemap are ``.xml`` templates, whose
values it strips of the characters XML 1.0 cannot carry before autoescaping them.

**Atomicity.** The site is rendered into a temp dir and swapped in with two renames by
:func:`pipeline.atomic.replace_dir`: a reader sees the old site or the new one, never a
mix, a crash at any point leaves a complete site that the next build cleans up after, and
a marker file keeps a build from ever replacing a directory it did not create.

**Related Questions.** Each page links up to five *other* published questions, nearest first
by cosine similarity of the questions' embeddings (word overlap when no model is given); the
article's own related-question suggestions follow as plain text.

**Determinism.** Nothing reads the clock: dates come from the entries' timestamps, and every
list is sorted by stable keys, so the same entries (in any order) give byte-identical files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from langchain_core.embeddings import Embeddings

from pipeline.atomic import replace_dir, write_file
from pipeline.errors import PublishError
from pipeline.models.article import SiteEntry
from pipeline.publish.entries import Site, check_entries, collapse, safe_link
from pipeline.publish.feeds import export_json, feed_and_sitemap
from pipeline.publish.follow_up_form import desk_base
from pipeline.publish.pages import article_page, index_page, page, template
from pipeline.publish.related import related_slugs

__all__ = [
    "SiteReport",
    "build_site",
]

MARKER = ".evidence-press-site"


@dataclass(frozen=True)
class SiteReport:
    """What a build wrote: the site dir, the article count, HTML pages and every file."""

    site_dir: Path
    articles: int
    pages: int
    files: tuple[str, ...]


def _render(site: Site, root: Path) -> list[str]:
    """Write every file of the site under ``root``; return their relative paths."""
    files: dict[str, str | bytes] = {}
    for item in site.items:
        files[f"articles/{item.slug}.html"] = article_page(site, item)
    files["index.html"] = index_page(site)
    policy = template("editorial-policy.html.j2").render(site_title=site.title)
    files["editorial-policy.html"] = page(
        site, "Editorial policy", policy, "editorial-policy.html", ""
    )
    files["articles.json"] = export_json(site) + "\n"
    files["feed.xml"], files["sitemap.xml"] = feed_and_sitemap(site)
    for path, data in files.items():
        write_file(root, path, data)
    write_file(root, MARKER, "Built by Evidence Press (pipeline.publish); replaced each build.\n")
    return sorted(files)


def build_site(
    entries: list[SiteEntry],
    site_dir: Path,
    *,
    embeddings: Embeddings | None = None,
    site_title: str = "Evidence Press",
    base_url: str = "",
    desk_url: str | None = None,
) -> SiteReport:
    """Write the whole static site for ``entries`` into ``site_dir``, atomically.

    ``embeddings`` (e.g. :class:`~pipeline.index.embeddings.MiniLMOnnxEmbeddings`) ranks Related
    Questions by cosine similarity of the questions; without it, word overlap is used.
    ``base_url`` (``https://…``) makes feed, sitemap, JSON and canonical URLs absolute.
    ``desk_url`` (the web desk) adds a follow-up question form to every article page.
    Raises :class:`UnapprovedEntryError`, :class:`UnsafeSlugError` or :class:`PublishError`
    before writing anything when an entry may not be published.
    """
    items = check_entries(entries)
    base = base_url.strip().rstrip("/")
    if base and safe_link(base) is None:
        raise PublishError(
            f"base_url {base_url!r} is not an http(s) URL", "e.g. https://example.org"
        )
    title = collapse(site_title) or "Evidence Press"
    related, by_slug = related_slugs(items, embeddings), {i.slug: i for i in items}
    site = Site(title, base, items, related, by_slug, desk_base(desk_url))
    site_dir = Path(site_dir).absolute()
    with replace_dir(site_dir, MARKER, what="the site") as temp:
        files = _render(site, temp)
    pages = sum(path.endswith(".html") for path in files)
    return SiteReport(site_dir=site_dir, articles=len(items), pages=pages, files=tuple(files))
