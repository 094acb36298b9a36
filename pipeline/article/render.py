"""Render a checked :class:`~pipeline.models.article.Article` as Markdown, HTML or JSON.

Design
------
Every decision about what a reader sees is taken once, in Python, by :func:`_build_view`:
which review step is current, whether the pending-review caution shows, how the date is
spelt, which bullets are flagged, which citation numbers can link to a reference and which
reference URLs may become links at all. The Jinja2 templates in ``pipeline/templates/``
only lay that view out, so the Markdown and the HTML page cannot disagree:

* ``article.md.j2`` is a ``.md`` template of the one environment
  (:func:`pipeline.templating.environment`), which passes every ``{{ … }}`` value through
  :func:`escape_markdown`. Untrusted text is escaped by default; only literal template text
  (``#``, ``**``, ``- ``) can produce Markdown syntax. Headings and labels come from
  :data:`pipeline.article.spec.HOUSE` (passed as ``house``), the one description of the house
  format that the ``press edit`` parser and the evaluation's structure check read too.
* ``article.html.j2`` is the article body, rendered with autoescaping on and then cleaned
  by :func:`sanitize_html` (the article allow-list of :mod:`pipeline.article.sanitize`:
  ``nh3`` with explicit tags, attributes and URL schemes). The second layer is defence in
  depth: a template mistake still cannot emit a script, an event handler or a
  ``javascript:`` link.
* ``page.html.j2`` and ``article.css`` form the trusted page shell around the cleaned body
  (charset, language, escaped title, inline CSS and a Content-Security-Policy that forbids
  scripts outright).

Text from the corpus, the question and the model is never trusted. Output is deterministic:
nothing reads the clock or the locale, and prompt versions are sorted, so the same Article
always gives byte-identical pages.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from markupsafe import Markup

from pipeline.article import sanitize, spec
from pipeline.article.spec import escape_markdown
from pipeline.errors import RenderError
from pipeline.models.article import Article
from pipeline.templating import FOLDERS, environment

__all__ = [
    "CAUTION",
    "EXTRACTIVE_NOTICE",
    "FLAG_NOTE",
    "REVIEW_STEPS",
    "escape_markdown",
    "format_date",
    "sanitize_html",
    "to_html",
    "to_html_fragment",
    "to_json",
    "to_markdown",
]

TEMPLATES = FOLDERS["article"][0]
"""The folder of the article, site and report templates."""

REVIEW_STEPS = ("Submitted", "Under Review", "Approved")
CAUTION = "Educational purpose only • Exercise caution as content is pending human review"
EXTRACTIVE_NOTICE = (
    "Drafted without a language model: sentences were extracted from the cited sources; "
    "the verdict needs editorial judgment."
)
FLAG_NOTE = spec.HOUSE.flag_note

# Workflow status → (index of the current reader-facing step, note shown beside it).
_ON_TRACK: dict[str, tuple[int, str]] = {
    "submitted": (0, ""),
    "under_review": (1, ""),
    "changes_requested": (1, "changes requested"),
    "approved": (2, ""),
    "published": (2, ""),
}
_REVIEWED = frozenset({"approved", "published"})
_LABELS = {"failed": "Failed — needs redraft"}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip
_LINK_SCHEMES = sanitize.LINK_SCHEMES


@dataclass(frozen=True)
class _Voice:
    """Audience-dependent wording: the audience line and the disclaimer."""

    audience_line: str
    disclaimer_label: str
    disclaimer: str


_VOICES: dict[str, _Voice] = {
    "clinician": _Voice(
        "For clinicians",
        "Professional disclaimer",
        "This article is educational information for healthcare professionals. It is not a "
        "substitute for professional medical advice, diagnosis or treatment, and it does not "
        "replace clinical judgment: check the cited sources and current guidance before "
        "acting on it. Decisions about an individual patient rest with the treating clinician.",
    ),
    "patient": _Voice(
        "For patients",
        "Please note",
        "This page explains what research says, to help you learn. It is not medical advice "
        "and it cannot diagnose or treat you. Talk to your doctor or nurse about your own "
        "health; decisions about your care are made with the clinician who treats you.",
    ),
}


@dataclass(frozen=True)
class _Step:
    label: str
    state: Literal["done", "current", "todo"]


@dataclass(frozen=True)
class _Cite:
    number: int
    linked: bool  # False when no reference carries this number: no dangling #ref-N link


@dataclass(frozen=True)
class _BulletView:
    text: str
    cites: tuple[_Cite, ...]
    flagged: bool


@dataclass(frozen=True)
class _SectionView:
    heading: str
    lead: str
    bullets: tuple[_BulletView, ...]


@dataclass(frozen=True)
class _ReferenceView:
    number: int
    text: str
    level: str
    url: str | None


@dataclass(frozen=True)
class _View:
    """Everything both templates show, already decided and whitespace-normalized."""

    question: str
    status_label: str
    steps: tuple[_Step, ...]
    caution: str
    extractive_notice: str
    last_updated: str
    voice: _Voice
    headline: str
    summary: str
    sections: tuple[_SectionView, ...]
    bottom_line: str
    references: tuple[_ReferenceView, ...]
    related: tuple[str, ...]
    provenance: tuple[tuple[str, str], ...]


def format_date(iso: str) -> str:
    """Spell an ISO date (or datetime) as ``January 5, 2026``, independent of the locale."""
    try:
        day = datetime.fromisoformat(iso.strip()).date()
    except ValueError as error:
        raise RenderError(
            f"last_updated {iso!r} is not an ISO date",
            hint="set Article.last_updated to a date such as '2026-01-05'",
        ) from error
    return f"{_MONTHS[day.month - 1]} {day.day}, {day.year}"


def _plain(text: str | None) -> str:
    """Collapse all whitespace, so untrusted text can never start a new Markdown block."""
    return " ".join((text or "").split())


def _safe_url(url: str | None) -> str | None:
    """The URL if it may become a link (http, https or mailto), else ``None``."""
    url = (url or "").strip()
    if not url or any(ch.isspace() or not ch.isprintable() for ch in url):
        return None
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in _LINK_SCHEMES else None


def _status(status: str) -> tuple[str, tuple[_Step, ...]]:
    """The current status label and the badge's steps (done / current / todo)."""
    if status in _ON_TRACK:
        current, note = _ON_TRACK[status]
        steps = tuple(
            _Step(
                f"{label} ({note})" if i == current and note else label,
                "done" if i < current else "current" if i == current else "todo",
            )
            for i, label in enumerate(REVIEW_STEPS)
        )
        return steps[current].label, steps
    # draft, failed, withdrawn, retracted (or an unknown status): no step is reached.
    label = _LABELS.get(status) or _plain(status.replace("_", " ")).capitalize() or "Draft"
    return label, (_Step(label, "current"), *(_Step(s, "todo") for s in REVIEW_STEPS))


def _provenance(article: Article) -> tuple[tuple[str, str], ...]:
    prov = article.provenance
    if prov.drafter == "extractive":
        drafter = "extractive (no language model)"
    else:
        drafter = f"language model {_plain(prov.model) or '(unnamed)'}"
    prompts = ", ".join(
        f"{name} {version}" for name, version in sorted(prov.prompt_versions.items())
    )
    return (
        ("Drafter", drafter),
        ("Corpus version", _plain(prov.corpus_version) or "unknown"),
        ("Prompt versions", _plain(prompts) or "none"),
        ("Settings hash", _plain(prov.settings_hash) or "unknown"),
    )


def _build_view(article: Article, *, workflow_notes: bool = True) -> _View:
    draft = article.draft
    flagged = {(c.section, c.bullet) for c in article.checks if c.flagged and c.is_bullet}
    references = sorted(article.references, key=lambda r: r.number)
    known = {r.number for r in references}
    status_label, steps = _status(article.status)
    sections = tuple(
        _SectionView(
            heading=_plain(section.heading),
            lead=_plain(section.lead),
            bullets=tuple(
                _BulletView(
                    text=_plain(bullet.text),
                    cites=tuple(_Cite(n, n in known) for n in bullet.citations),
                    flagged=(s, b) in flagged,  # BulletCheck indices are 0-based positions
                )
                for b, bullet in enumerate(section.bullets)
            ),
        )
        for s, section in enumerate(draft.sections)
    )
    return _View(
        question=_plain(article.question),
        status_label=status_label,
        steps=steps,
        caution="" if article.status in _REVIEWED else CAUTION,
        # Workflow state, not article text: never on approved/published pages, and the
        # desk shows it beside the article instead (workflow_notes=False).
        extractive_notice=EXTRACTIVE_NOTICE
        if article.drafted_without_llm and workflow_notes and article.status not in _REVIEWED
        else "",
        last_updated=format_date(article.last_updated),
        voice=_VOICES[article.audience],
        headline=_plain(draft.headline),
        summary=_plain(draft.summary),
        sections=sections,
        bottom_line=_plain(draft.bottom_line),
        references=tuple(
            _ReferenceView(r.number, _plain(r.text), r.evidence_level.label, _safe_url(r.url))
            for r in references
        ),
        related=tuple(_plain(q) for q in draft.related_questions if _plain(q)),
        provenance=_provenance(article),
    )


def sanitize_html(fragment: str) -> str:
    """Clean an HTML fragment with the article allow-list (:mod:`pipeline.article.sanitize`).

    Kept: headings, paragraphs, lists, ``a[href, id, class, data-ref]``, ``span[class]``,
    ``div[class, role=status|note, aria-*]`` and a few structural tags; links only to
    http, https, mailto or an in-page ``#fragment``. Everything else (scripts, event
    handlers, styles, images, ``javascript:`` URLs) is removed.
    """
    return sanitize.sanitize_html(fragment)


def to_markdown(article: Article) -> str:
    """Render the article as house-format Markdown with all untrusted text escaped."""
    text = (
        environment()
        .get_template("article/article.md.j2")
        .render(v=_build_view(article), house=spec.HOUSE)
    )
    # Templates may leave runs of blank lines around optional parts; untrusted text holds
    # no newlines (see _plain), so collapsing them cannot change anything a writer wrote.
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def to_html_fragment(article: Article, *, workflow_notes: bool = True) -> str:
    """Render the article body as sanitized HTML, for embedding in another page.

    ``workflow_notes=False`` leaves out the drafting notice (the review desk shows it as
    workflow state beside the article); approved and published text never carries it.
    """
    body = (
        environment()
        .get_template("article/article.html.j2")
        .render(v=_build_view(article, workflow_notes=workflow_notes), house=spec.HOUSE)
    )
    return sanitize_html(body)


def to_html(article: Article) -> str:
    """Render the article as a complete standalone HTML5 page (inline CSS, no scripts)."""
    return (
        environment()
        .get_template("article/page.html.j2")
        .render(title=_plain(article.question), body=Markup(to_html_fragment(article)))
    )


def to_json(article: Article) -> str:
    """Serialize the article model as pretty JSON (two-space indent, field order kept)."""
    return json.dumps(article.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
