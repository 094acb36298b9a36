"""Publish approved articles as a static site, swapped in atomically.

Design
------
:func:`build_site` receives the published :class:`~pipeline.models.SiteEntry` list (the review
workflow decides what is approved) and writes the *whole* site each time::

    site_dir/
      index.html               articles grouped by topic, newest approval first
      editorial-policy.html    how articles are drafted, reviewed, approved, updated, retracted
      articles/<slug>.html     one page per entry, in the house format
      articles.json            JSON export of every entry
      feed.xml                 Atom 1.0, one entry per article (id stable per slug)
      sitemap.xml              sitemap protocol 0.9

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

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from jinja2 import Template
from langchain_core.embeddings import Embeddings
from markupsafe import Markup

from pipeline.article.render import format_date, to_html_fragment
from pipeline.article.sanitize import sanitize_html
from pipeline.atomic import replace_dir, write_file
from pipeline.cite.check import content_terms
from pipeline.errors import PublishError, UnapprovedEntryError, UnsafeSlugError
from pipeline.models import SiteEntry
from pipeline.publish.follow_up_form import FollowUpForm, desk_base, follow_up_form
from pipeline.templating import environment

__all__ = [
    "SiteReport",
    "build_site",
]

PUBLISHABLE = frozenset({"approved", "published"})
RELATED_LIMIT = 5
MARKER = ".evidence-press-site"
AUDIENCE = {"clinician": "For clinicians", "patient": "For patients"}
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,199}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_REF_FIELDS = {"number", "citation_id", "text", "evidence_level"}


@dataclass(frozen=True)
class SiteReport:
    """What a build wrote: the site dir, the article count, HTML pages and every file."""

    site_dir: Path
    articles: int
    pages: int
    files: tuple[str, ...]


@dataclass(frozen=True)
class _Item:
    """One entry with everything derived from it that pages need."""

    entry: SiteEntry
    slug: str
    key: str  # the question, normalized: twins share it
    approved: datetime
    reviewers: str


def _collapse(text: str | None) -> str:
    return " ".join((text or "").split())


def _timestamp(value: str, what: str, slug: str) -> datetime:
    """An ISO date or datetime as an aware UTC datetime (naive values are taken as UTC)."""
    try:
        stamp = datetime.fromisoformat(value.strip())
    except ValueError as error:
        raise PublishError(
            f"{what} {value!r} of {slug!r} is not an ISO timestamp",
            "pass e.g. '2026-01-05T09:30:00+00:00' from the review store",
        ) from error
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def _names(names: Sequence[str]) -> str:
    clean = [n for n in (_collapse(name) for name in names) if n]
    return clean[0] if len(clean) == 1 else f"{', '.join(clean[:-1])} and {clean[-1]}"


def _check(entries: Sequence[SiteEntry]) -> list[_Item]:
    """Validate every entry; return them newest approval first (ties by slug)."""
    items: dict[str, _Item] = {}
    for entry in entries:
        slug, status = entry.article.slug, entry.article.status
        if not _SLUG.fullmatch(slug):
            raise UnsafeSlugError(
                f"unsafe slug {slug!r}: only lower-case letters, digits and '-' are allowed",
                "slugs become file names under articles/; no '/', '\\', '..' or other "
                "characters (e.g. 'ivig-stiff-person-syndrome')",
            )
        if status not in PUBLISHABLE:
            raise UnapprovedEntryError(
                f"article {slug!r} has status {status!r}; only approved articles are published",
                "approve the revision in the review workflow first, or leave it out",
            )
        if slug in items:
            raise PublishError(f"two entries have the slug {slug!r}", "publish one per slug")
        if not any(_collapse(name) for name in entry.reviewed_by):
            raise PublishError(
                f"article {slug!r} names no reviewer",
                "pass the approving reviewers' names in SiteEntry.reviewed_by",
            )
        if entry.published_at:
            _timestamp(entry.published_at, "published_at", slug)
        items[slug] = _Item(
            entry,
            slug,
            _collapse(entry.article.question).casefold(),
            _timestamp(entry.approved_at, "approved_at", slug),
            _names(entry.reviewed_by),
        )
    ordered = sorted(items.values(), key=lambda item: item.slug)
    return sorted(ordered, key=lambda item: item.approved, reverse=True)


def _similarity(questions: list[str], embeddings: Embeddings | None) -> Any:
    """Pairwise question similarity: cosine of embeddings, else Jaccard of content words."""
    if embeddings is not None and questions:
        vectors = np.asarray(embeddings.embed_documents(questions), dtype=np.float64)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)
        scores = vectors @ vectors.T
    else:
        terms = [content_terms(q) for q in questions]
        scores = np.array(
            [[len(a & b) / len(a | b) if a | b else 0.0 for b in terms] for a in terms]
        )
    return np.round(scores, 6)  # rounding keeps the order stable against float noise


def _related(items: list[_Item], embeddings: Embeddings | None) -> dict[str, list[str]]:
    """For each slug, up to five slugs of the nearest *other* published questions.

    Each other question appears once, in the same audience as the article when that version
    exists. The article itself and its other-audience twin (same question) are excluded, as
    are questions with no similarity at all. Ties are broken by question text.
    """
    keys = sorted({item.key for item in items})
    versions: dict[str, list[_Item]] = {key: [] for key in keys}
    for item in sorted(items, key=lambda i: i.slug):
        versions[item.key].append(item)
    texts = [_collapse(versions[key][0].entry.article.question) for key in keys]
    scores = _similarity(texts, embeddings)
    related: dict[str, list[str]] = {}
    for item in items:
        row = scores[keys.index(item.key)]
        near = sorted(
            (j for j, key in enumerate(keys) if key != item.key and row[j] > 0),
            key=lambda j: (-row[j], keys[j]),
        )[:RELATED_LIMIT]
        audience = item.entry.article.audience
        related[item.slug] = [
            next(
                (v for v in versions[keys[j]] if v.entry.article.audience == audience),
                versions[keys[j]][0],
            ).slug
            for j in near
        ]
    return related


def _template(name: str) -> Template:
    """A template of the site (``site/`` namespace of :func:`pipeline.templating.environment`)."""
    return environment().get_template(f"site/{name}")


@dataclass(frozen=True)
class _Site:
    title: str
    base_url: str
    items: list[_Item]
    related: dict[str, list[str]]
    by_slug: dict[str, _Item]
    desk_url: str = ""  # the review desk, for the follow-up form (pipeline.publish.follow_up_form)

    def url(self, path: str) -> str:
        """Absolute URL of a site path when base_url is set, else the relative path."""
        return f"{self.base_url}/{path}" if self.base_url else path


def _page(
    site: _Site, title: str, body: str, path: str, root: str, form: FollowUpForm | None = None
) -> str:
    return _template("page.html.j2").render(
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
            "pipeline/templates/article.html.j2 changed; update pipeline/publish/site.py to match",
        )
    return html.replace(marker, extra + marker)


def _article_page(site: _Site, item: _Item) -> str:
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
    meta = _template("article-meta.html.j2").render(
        reviewers=item.reviewers, verdict_by=_collapse(item.entry.verdict_by), options=options
    )
    related = _template("related.html.j2").render(
        links=[
            {
                "href": f"{slug}.html",
                "question": _collapse(by_slug[slug].entry.article.question),
                "audience": AUDIENCE[by_slug[slug].entry.article.audience],
            }
            for slug in site.related[item.slug]
        ],
        plain=[q for q in map(_collapse, article.draft.related_questions) if q],
    )
    body = _insert(to_html_fragment(shown), "</header>", meta)
    body = _insert(body, '<section class="disclaimer">', related)
    path = f"articles/{item.slug}.html"
    form = follow_up_form(site.desk_url, item.slug)
    return _page(site, _collapse(article.question), body, path, "../", form)


def _anchor(name: str, taken: set[str]) -> str:
    base = "topic-" + (re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-") or "x")
    anchor, n = base, 1
    while anchor in taken:
        n += 1
        anchor = f"{base}-{n}"
    taken.add(anchor)
    return anchor


def _index_page(site: _Site) -> str:
    groups: dict[str, list[dict[str, str]]] = {}
    for item in site.items:
        topic = _collapse(item.entry.topic) or "General"
        groups.setdefault(topic, []).append(
            {
                "href": f"articles/{item.slug}.html",
                "question": _collapse(item.entry.article.question),
                "audience": AUDIENCE[item.entry.article.audience],
                "headline": _collapse(item.entry.article.draft.headline),
                "date": format_date(item.entry.approved_at),
                "reviewers": item.reviewers,
            }
        )
    taken: set[str] = set()
    names = sorted(groups, key=lambda name: (name == "General", name.casefold(), name))
    body = _template("index.html.j2").render(
        site_title=site.title,
        groups=[{"name": n, "anchor": _anchor(n, taken), "articles": groups[n]} for n in names],
    )
    return _page(site, "", body, "index.html", "")


def _safe_link(url: str | None) -> str | None:
    url = (url or "").strip()
    ok = url and not any(c.isspace() for c in url) and urlsplit(url).scheme in {"http", "https"}
    return url if ok else None


def _export(site: _Site) -> str:
    records = []
    for item in site.items:
        entry, article = item.entry, item.entry.article
        records.append(
            {
                "slug": item.slug,
                "question": article.question,
                "audience": article.audience,
                "topic": entry.topic,
                "headline": article.draft.headline,
                "approved_at": entry.approved_at,
                "published_at": entry.published_at or None,
                "reviewed_by": list(entry.reviewed_by),
                "revision_id": entry.revision_id,
                "content_hash": entry.content_hash,
                "url": site.url(f"articles/{item.slug}.html"),
                "references": [
                    {**r.model_dump(mode="json", include=_REF_FIELDS), "url": _safe_link(r.url)}
                    for r in sorted(article.references, key=lambda r: r.number)
                ],
            }
        )
    return json.dumps({"site": site.title, "articles": records}, indent=2, ensure_ascii=False)


def _rfc3339(stamp: datetime) -> str:
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def _feeds(site: _Site) -> tuple[str, str]:
    """The Atom feed and the sitemap."""
    latest = max((item.approved for item in site.items), default=None)
    entries = [
        {
            "slug": item.slug,
            "title": f"{_collapse(item.entry.article.question)} "
            f"({AUDIENCE[item.entry.article.audience].lower()})",
            "updated": _rfc3339(item.approved),
            "published": _rfc3339(_timestamp(item.entry.published_at, "published_at", item.slug))
            if item.entry.published_at
            else "",
            "reviewers": [n for n in map(_collapse, item.entry.reviewed_by) if n],
            "topic": _collapse(item.entry.topic),
            "summary": _collapse(item.entry.article.draft.headline),
        }
        for item in site.items
    ]
    feed = _template("feed.xml.j2").render(
        site_title=site.title,
        feed_id=site.url("") if site.base_url else "urn:evidence-press:site",
        updated=_rfc3339(latest or _EPOCH),
        entries=entries,
        url=site.url,
    )
    pages = [("index.html", _rfc3339(latest) if latest else ""), ("editorial-policy.html", "")]
    pages += [(f"articles/{item.slug}.html", _rfc3339(item.approved)) for item in site.items]
    sitemap = _template("sitemap.xml.j2").render(pages=pages, url=site.url)
    return feed, sitemap


def _render(site: _Site, root: Path) -> list[str]:
    """Write every file of the site under ``root``; return their relative paths."""
    files: dict[str, str | bytes] = {}
    for item in site.items:
        files[f"articles/{item.slug}.html"] = _article_page(site, item)
    files["index.html"] = _index_page(site)
    policy = _template("editorial-policy.html.j2").render(site_title=site.title)
    files["editorial-policy.html"] = _page(
        site, "Editorial policy", policy, "editorial-policy.html", ""
    )
    files["articles.json"] = _export(site) + "\n"
    files["feed.xml"], files["sitemap.xml"] = _feeds(site)
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
    items = _check(entries)
    base = base_url.strip().rstrip("/")
    if base and _safe_link(base) is None:
        raise PublishError(
            f"base_url {base_url!r} is not an http(s) URL", "e.g. https://example.org"
        )
    title = _collapse(site_title) or "Evidence Press"
    related, by_slug = _related(items, embeddings), {i.slug: i for i in items}
    site = _Site(title, base, items, related, by_slug, desk_base(desk_url))
    site_dir = Path(site_dir).absolute()
    with replace_dir(site_dir, MARKER, what="the site") as temp:
        files = _render(site, temp)
    pages = sum(path.endswith(".html") for path in files)
    return SiteReport(site_dir=site_dir, articles=len(items), pages=pages, files=tuple(files))
