"""The machine-readable outputs: the JSON export, the Atom feed and the sitemap.

Feed and sitemap are ``.xml`` templates of the ``site/`` namespace (:mod:`pipeline.templating`
strips the characters XML 1.0 cannot carry before autoescaping). Nothing reads the clock:
every date comes from the entries (the feed's ``updated`` is the newest approval, or the
epoch for an empty site), so the same entries give byte-identical files.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from pipeline.publish.entries import AUDIENCE, Site, collapse, safe_link, timestamp
from pipeline.publish.pages import template

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_REF_FIELDS = {"number", "citation_id", "text", "evidence_level"}


def export_json(site: Site) -> str:
    """Every entry as JSON (``articles.json``), references with safe links only."""
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
                    {**r.model_dump(mode="json", include=_REF_FIELDS), "url": safe_link(r.url)}
                    for r in sorted(article.references, key=lambda r: r.number)
                ],
            }
        )
    return json.dumps({"site": site.title, "articles": records}, indent=2, ensure_ascii=False)


def _rfc3339(stamp: datetime) -> str:
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def feed_and_sitemap(site: Site) -> tuple[str, str]:
    """The Atom feed and the sitemap."""
    latest = max((item.approved for item in site.items), default=None)
    entries = [
        {
            "slug": item.slug,
            "title": f"{collapse(item.entry.article.question)} "
            f"({AUDIENCE[item.entry.article.audience].lower()})",
            "updated": _rfc3339(item.approved),
            "published": _rfc3339(timestamp(item.entry.published_at, "published_at", item.slug))
            if item.entry.published_at
            else "",
            "reviewers": [n for n in map(collapse, item.entry.reviewed_by) if n],
            "topic": collapse(item.entry.topic),
            "summary": collapse(item.entry.article.draft.headline),
        }
        for item in site.items
    ]
    feed = template("feed.xml.j2").render(
        site_title=site.title,
        feed_id=site.url("") if site.base_url else "urn:evidence-press:site",
        updated=_rfc3339(latest or _EPOCH),
        entries=entries,
        url=site.url,
    )
    pages = [("index.html", _rfc3339(latest) if latest else ""), ("editorial-policy.html", "")]
    pages += [(f"articles/{item.slug}.html", _rfc3339(item.approved)) for item in site.items]
    sitemap = template("sitemap.xml.j2").render(pages=pages, url=site.url)
    return feed, sitemap
