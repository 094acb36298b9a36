"""The one HTML sanitiser (``nh3``): an explicit allow-list of tags, attributes and URL schemes.

Design
------
Every HTML page the program writes is autoescaped by its template *and* cleaned here, as
defence in depth: a template mistake still cannot emit a script, an event handler, a style,
an image or a ``javascript:`` link. There is one allow-list with one explicit widening:

* ``site=False`` (the default) is the **article body** allow-list, used wherever an article
  is embedded (the standalone page, the desk, the evaluation report): headings, paragraphs,
  lists, ``a[href, id, class, data-ref]``, ``span/div/p/section[class]``, ``li[id, class]``,
  ``div[role=status|note, aria-*]``; links only to http, https, mailto or an in-page
  ``#fragment``. A relative link to another file would point nowhere in those places.
* ``site=True`` adds what the **static site's chrome** around the body needs and nothing
  else: ``class`` on ``nav``, ``ul`` and ``strong`` (navigation, related questions), ``id``
  on ``h2`` (in-page anchors), ``aria-*`` on ``nav``, and relative links to the site's own
  pages (``index.html``, ``articles/<slug>.html``, ``../feed.xml``, ``#anchor``). Those
  pages exist only in the published site, so the article allow-list stays without them.
"""

from __future__ import annotations

import re
from functools import cache

import nh3

__all__ = ["LINK_SCHEMES", "sanitize_html"]

LINK_SCHEMES = frozenset({"http", "https", "mailto"})
"""URL schemes a link may use (anything else, e.g. ``javascript:``, is dropped)."""

_TAGS = {
    *("h1", "h2", "h3", "p", "ul", "ol", "li", "strong", "em", "a", "span", "div"),
    *("section", "nav", "footer", "header", "small", "code"),
}
_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "id", "class", "data-ref"},
    **{tag: {"class"} for tag in ("span", "div", "p", "section")},
    "li": {"id", "class"},
}
_SITE_ATTRIBUTES: dict[str, set[str]] = {
    **{tag: {"class"} for tag in ("nav", "ul", "strong")},
    "h2": {"id"},
}
_SITE_URL = re.compile(r"#[A-Za-z0-9_-]+|(?:\.\./)?(?:articles/)?[a-z0-9-]+\.(?:html|xml|json)")


def _fragment_only(url: str) -> str | None:
    """Article bodies: relative URLs survive only as in-page ``#fragment`` links."""
    return url if url.startswith("#") else None


def _site_link(url: str) -> str | None:
    """Site pages: relative URLs survive as in-page anchors or links to the site's own files."""
    return url if _SITE_URL.fullmatch(url) else None


def _aria_on_div(tag: str, attribute: str, value: str) -> str | None:
    return None if attribute.startswith("aria-") and tag != "div" else value


def _aria_on_div_and_nav(tag: str, attribute: str, value: str) -> str | None:
    return None if attribute.startswith("aria-") and tag not in {"div", "nav"} else value


@cache
def _cleaner(site: bool) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(_TAGS),
        attributes={**_ATTRIBUTES, **(_SITE_ATTRIBUTES if site else {})},
        tag_attribute_values={"div": {"role": {"status", "note"}}},
        generic_attribute_prefixes={"aria-"},
        attribute_filter=_aria_on_div_and_nav if site else _aria_on_div,
        url_schemes=set(LINK_SCHEMES),
        url_relative=_site_link if site else _fragment_only,
    )


def sanitize_html(fragment: str, *, site: bool = False) -> str:
    """Clean an HTML fragment with the article allow-list, or (``site=True``) the site's.

    See the module docstring for both lists and why the site's is wider.
    """
    return _cleaner(site).clean(fragment)
