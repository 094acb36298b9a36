"""The HTML pages of the site: article pages, the front page and the page shell.

Article bodies come from :func:`pipeline.article.render.to_html_fragment` (autoescaped, cleaned
by ``render.sanitize_html``); the site chrome around them (reviewers, audience switch, related
links, the follow-up form) is rendered from the ``site/`` templates of the one environment
(:mod:`pipeline.templating`), and the whole page body is cleaned again with the site
allow-list of :mod:`pipeline.article.sanitize` (``site=True``). The chrome is inserted at
fixed markers of the article body; a template change that moves them fails loudly.
"""

from __future__ import annotations

import re

from jinja2 import Template
from markupsafe import Markup

from pipeline.article.render import format_date, to_html_fragment
from pipeline.article.sanitize import sanitize_html
from pipeline.errors import PublishError
from pipeline.publish.entries import AUDIENCE, Site, SiteItem, collapse
from pipeline.publish.follow_up_form import FollowUpForm, follow_up_form
from pipeline.templating import environment


def template(name: str) -> Template:
    """A template of the site (``site/`` namespace of :func:`pipeline.templating.environment`)."""
    return environment().get_template(f"site/{name}")


def page(
    site: Site, title: str, body: str, path: str, root: str, form: FollowUpForm | None = None
) -> str:
    """The page shell around ``body`` (sanitized with the site allow-list)."""
    return template("page.html.j2").render(
        follow_up=form,
        title=title,
        site_title=site.title,
        body=Markup(sanitize_html(body, site=True)),
        root=root,
        canonical=site.url(path) if site.base_url else "",
    )


def _insert(html: str, marker: str, extra: str) -> str:
    """``extra`` inserted before the only occurrence of ``marker`` in the rendered body."""
    if html.count(marker) != 1:
        raise PublishError(
            f"the article body does not contain {marker!r} exactly once",
            "pipeline/templates/article.html.j2 changed; update pipeline/publish/pages.py to match",
        )
    return html.replace(marker, extra + marker)


def article_page(site: Site, item: SiteItem) -> str:
    """One article's page: the house format plus reviewers, audience switch and related links."""
    article, by_slug = item.entry.article, site.by_slug
    twins = [i for i in by_slug.values() if i.key == item.key and i.entry.article.audience
             != article.audience]  # fmt: skip
    options = [
        {"label": label, "href": "" if audience == article.audience else f"{twins[0].slug}.html"}
        for audience, label in AUDIENCE.items()
    ] if twins else []  # fmt: skip
    shown = article.model_copy(
        update={
            "last_updated": item.entry.approved_at,
            "draft": article.draft.model_copy(update={"related_questions": []}),
        }
    )
    meta = template("article-meta.html.j2").render(
        reviewers=item.reviewers, verdict_by=collapse(item.entry.verdict_by), options=options
    )
    related = template("related.html.j2").render(
        links=[
            {
                "href": f"{slug}.html",
                "question": collapse(by_slug[slug].entry.article.question),
                "audience": AUDIENCE[by_slug[slug].entry.article.audience],
            }
            for slug in site.related[item.slug]
        ],
        plain=[q for q in map(collapse, article.draft.related_questions) if q],
    )
    body = _insert(to_html_fragment(shown), "</header>", meta)
    body = _insert(body, '<section class="disclaimer">', related)
    path = f"articles/{item.slug}.html"
    form = follow_up_form(site.desk_url, item.slug)
    return page(site, collapse(article.question), body, path, "../", form)


def _anchor(name: str, taken: set[str]) -> str:
    base = "topic-" + (re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-") or "x")
    anchor, n = base, 1
    while anchor in taken:
        n += 1
        anchor = f"{base}-{n}"
    taken.add(anchor)
    return anchor


def index_page(site: Site) -> str:
    """The front page: articles grouped by topic, newest approval first."""
    groups: dict[str, list[dict[str, str]]] = {}
    for item in site.items:
        topic = collapse(item.entry.topic) or "General"
        groups.setdefault(topic, []).append(
            {
                "href": f"articles/{item.slug}.html",
                "question": collapse(item.entry.article.question),
                "audience": AUDIENCE[item.entry.article.audience],
                "headline": collapse(item.entry.article.draft.headline),
                "date": format_date(item.entry.approved_at),
                "reviewers": item.reviewers,
            }
        )
    taken: set[str] = set()
    names = sorted(groups, key=lambda name: (name == "General", name.casefold(), name))
    body = template("index.html.j2").render(
        site_title=site.title,
        groups=[{"name": n, "anchor": _anchor(n, taken), "articles": groups[n]} for n in names],
    )
    return page(site, "", body, "index.html", "")
