"""The entries of a site, checked: what every page, feed and link of a build is made from.

:func:`check_entries` validates every :class:`~pipeline.models.article.SiteEntry` before anything is
written (status ``approved``/``published``, slugs in ``[a-z0-9-]`` so no path traversal,
unique slugs, a named reviewer, ISO timestamps) and orders them newest approval first;
:class:`Site` carries them with the build's options to the page, feed and related-question
modules. Kept apart from those modules so the safety rules sit in one place and each output
module reads already-validated items.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from pipeline.errors import PublishError, UnapprovedEntryError, UnsafeSlugError
from pipeline.models.article import SiteEntry

PUBLISHABLE = frozenset({"approved", "published"})
AUDIENCE = {"clinician": "For clinicians", "patient": "For patients"}
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,199}")


@dataclass(frozen=True)
class SiteItem:
    """One checked entry with everything derived from it that pages need."""

    entry: SiteEntry
    slug: str
    key: str  # the question, normalized: twins share it
    approved: datetime
    reviewers: str


def collapse(text: str | None) -> str:
    """``text`` with every run of whitespace made one space (``None`` → ``""``)."""
    return " ".join((text or "").split())


def timestamp(value: str, what: str, slug: str) -> datetime:
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
    clean = [n for n in (collapse(name) for name in names) if n]
    return clean[0] if len(clean) == 1 else f"{', '.join(clean[:-1])} and {clean[-1]}"


def check_entries(entries: Sequence[SiteEntry]) -> list[SiteItem]:
    """Validate every entry; return them newest approval first (ties by slug)."""
    items: dict[str, SiteItem] = {}
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
        if not any(collapse(name) for name in entry.reviewed_by):
            raise PublishError(
                f"article {slug!r} names no reviewer",
                "pass the approving reviewers' names in SiteEntry.reviewed_by",
            )
        if entry.published_at:
            timestamp(entry.published_at, "published_at", slug)
        items[slug] = SiteItem(
            entry,
            slug,
            collapse(entry.article.question).casefold(),
            timestamp(entry.approved_at, "approved_at", slug),
            _names(entry.reviewed_by),
        )
    ordered = sorted(items.values(), key=lambda item: item.slug)
    return sorted(ordered, key=lambda item: item.approved, reverse=True)


@dataclass(frozen=True)
class Site:
    title: str
    base_url: str
    items: list[SiteItem]
    related: dict[str, list[str]]
    by_slug: dict[str, SiteItem]
    desk_url: str = ""  # the review desk, for the follow-up form (pipeline.publish.follow_up_form)

    def url(self, path: str) -> str:
        """Absolute URL of a site path when base_url is set, else the relative path."""
        return f"{self.base_url}/{path}" if self.base_url else path


def safe_link(url: str | None) -> str | None:
    """``url`` stripped when it is an http(s) URL without whitespace, else ``None``."""
    url = (url or "").strip()
    ok = url and not any(c.isspace() for c in url) and urlsplit(url).scheme in {"http", "https"}
    return url if ok else None
