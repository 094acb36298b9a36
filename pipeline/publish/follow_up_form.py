"""The static site's "Have a follow-up question?" form, pointing at the web review desk.

The site is static and its pages run no scripts, so the box is a plain ``GET`` form whose
action is the desk's follow-up route, ``{review.desk_url}/articles/{slug}/follow-up``, with one
labelled ``question`` field. The desk (``press serve``) answers that URL with its own signed-in,
CSRF-protected page that files the question (:func:`pipeline.review.follow_up.request_follow_up`);
the static page never writes anything itself.

When ``review.desk_url`` is unset the form is omitted: a form pointing nowhere would lose the
reader's question. The page still ends with its "Have another question? Browse every reviewed
answer" line. Every page's Content-Security-Policy allows form submissions only to the desk's
origin (``form-action``), and to nothing without a desk.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from pipeline.errors import ConfigError


@dataclass(frozen=True)
class FollowUpForm:
    """What the follow-up box of one article page needs: where it submits to."""

    action: str
    """Absolute URL of the desk's follow-up route for this article (slug URL-quoted)."""
    origin: str
    """``scheme://host[:port]`` of the desk, for the page's CSP ``form-action``."""


def desk_base(desk_url: str | None) -> str:
    """``desk_url`` without a trailing slash, checked to be a plain http(s) URL ("" if unset)."""
    base = (desk_url or "").strip().rstrip("/")
    if not base:
        return ""
    parts = urlsplit(base)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or parts.username
        or any(c.isspace() or c in "'\"<>\\;," for c in base)
    ):
        raise ConfigError(
            f"review.desk_url {desk_url!r} is not a plain http(s) URL",
            "Set PRESS_REVIEW__DESK_URL to the desk's public address, e.g. "
            "https://desk.example.org (no query, fragment, quotes or credentials).",
        )
    return base


def follow_up_form(base: str, slug: str) -> FollowUpForm | None:
    """The form for article ``slug`` on a desk at ``base`` (from :func:`desk_base`), if any."""
    if not base:
        return None
    parts = urlsplit(base)
    return FollowUpForm(
        action=f"{base}/articles/{quote(slug, safe='')}/follow-up",
        origin=f"{parts.scheme}://{parts.netloc}",
    )
