"""Render a checked :class:`~pipeline.models.Article` as Markdown, HTML or JSON.

Design
------
Every decision about what a reader sees is taken once, in Python, by :func:`_build_view`:
which review step is current, whether the pending-review caution shows, how the date is
spelt, which bullets are flagged, which citation numbers can link to a reference and which
reference URLs may become links at all. The Jinja2 templates in ``pipeline/templates/``
only lay that view out, so the Markdown and the HTML page cannot disagree:

* ``article.md.j2`` is rendered by an environment whose ``finalize`` hook passes every
  ``{{ … }}`` value through :func:`escape_markdown`. Untrusted text is escaped by default;
  only literal template text (``#``, ``**``, ``- ``) can produce Markdown syntax.
* ``article.html.j2`` is the article body, rendered with autoescaping on and then cleaned
  by :func:`sanitize_html` (``nh3`` with an explicit allow-list of tags, attributes and
  URL schemes). The second layer is defence in depth: a template mistake still cannot
  emit a script, an event handler or a ``javascript:`` link.
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
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlsplit

import nh3
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from pipeline.errors import RenderError
from pipeline.models import Article

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

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"

REVIEW_STEPS = ("Submitted", "Under Review", "Approved")
CAUTION = "Educational purpose only • Exercise caution as content is pending human review"
EXTRACTIVE_NOTICE = (
    "Drafted without a language model: sentences were extracted from the cited sources; "
    "the verdict needs editorial judgment."
)
FLAG_NOTE = "Low support — reviewer check"

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
_LINK_SCHEMES = frozenset({"http", "https", "mailto"})


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


_MD_INLINE = re.compile(r"[\\`*_\[\]#~]")
_MD_LINE_START = re.compile(r"^(\d+)([.)])|^([-+=])")


def escape_markdown(text: str) -> str:
    """Escape ``text`` so a CommonMark renderer shows it literally, never as markup.

    ``&``, ``<`` and ``>`` become entities (so no raw HTML tag or autolink survives, not
    even as ``<script>`` in the file); emphasis, code, link, heading and strikethrough
    characters get a backslash; a leading list, block or setext marker is escaped too.
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_INLINE.sub(lambda m: "\\" + m.group(0), text)
    return _MD_LINE_START.sub(
        lambda m: f"{m.group(1)}\\{m.group(2)}" if m.group(1) else "\\" + m.group(3), text
    )


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


def _markdown_finalize(value: object) -> str:
    """Escape every ``{{ … }}`` value unless a filter has already made it Markdown-safe."""
    return str(value) if isinstance(value, Markup) else escape_markdown(str(value))


def _markdown_url(url: str) -> Markup:
    """A link destination: characters that could end or break it are percent-encoded."""
    return Markup(quote(url, safe="/:?#[]@!$'*+,;=%~-._").replace("&", "&amp;"))


_MARKDOWN_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=False,
    finalize=_markdown_finalize,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_MARKDOWN_ENV.filters["md_url"] = _markdown_url

_HTML_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_HTML_ENV.globals["flag_note"] = FLAG_NOTE


def _only_fragments(url: str) -> str | None:
    """Relative URLs survive only as in-page ``#fragment`` links."""
    return url if url.startswith("#") else None


def _aria_on_div_only(tag: str, attribute: str, value: str) -> str | None:
    return None if attribute.startswith("aria-") and tag != "div" else value


_SANITIZER = nh3.Cleaner(
    tags={
        *("h1", "h2", "h3", "p", "ul", "ol", "li", "strong", "em", "a", "span", "div"),
        *("section", "nav", "footer", "header", "small", "code"),
    },
    attributes={
        "a": {"href", "id", "class", "data-ref"},
        "span": {"class"},
        "div": {"class"},
        "li": {"id", "class"},
        "p": {"class"},
        "section": {"class"},
    },
    tag_attribute_values={"div": {"role": {"status", "note"}}},
    generic_attribute_prefixes={"aria-"},
    attribute_filter=_aria_on_div_only,
    url_schemes=set(_LINK_SCHEMES),
    url_relative=_only_fragments,
)


def sanitize_html(fragment: str) -> str:
    """Clean an HTML fragment with the article allow-list (tags, attributes, URL schemes).

    Kept: headings, paragraphs, lists, ``a[href, id, class, data-ref]``, ``span[class]``,
    ``div[class, role=status|note, aria-*]`` and a few structural tags; links only to
    http, https, mailto or an in-page ``#fragment``. Everything else (scripts, event
    handlers, styles, images, ``javascript:`` URLs) is removed.
    """
    return _SANITIZER.clean(fragment)


def to_markdown(article: Article) -> str:
    """Render the article as house-format Markdown with all untrusted text escaped."""
    text = _MARKDOWN_ENV.get_template("article.md.j2").render(v=_build_view(article))
    # Templates may leave runs of blank lines around optional parts; untrusted text holds
    # no newlines (see _plain), so collapsing them cannot change anything a writer wrote.
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def to_html_fragment(article: Article, *, workflow_notes: bool = True) -> str:
    """Render the article body as sanitized HTML, for embedding in another page.

    ``workflow_notes=False`` leaves out the drafting notice (the review desk shows it as
    workflow state beside the article); approved and published text never carries it.
    """
    body = _HTML_ENV.get_template("article.html.j2").render(
        v=_build_view(article, workflow_notes=workflow_notes)
    )
    return sanitize_html(body)


def to_html(article: Article) -> str:
    """Render the article as a complete standalone HTML5 page (inline CSS, no scripts)."""
    return _HTML_ENV.get_template("page.html.j2").render(
        title=_plain(article.question), body=Markup(to_html_fragment(article))
    )


def to_json(article: Article) -> str:
    """Serialize the article model as pretty JSON (two-space indent, field order kept)."""
    return json.dumps(article.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
