"""The house format, described once: its blocks in page order, their labels and the marker syntax.

Design
------
Three pieces of code read or write the house format: the renderer
(``pipeline/article/render.py`` with the templates ``article.md.j2`` and ``article.html.j2``),
the parser of ``press edit``
(``pipeline/article/parse.py``) and the structure check of the evaluation
(``pipeline/article/check.py``). None of them spells a heading, a label or a marker
itself: they take them from :data:`HOUSE` *at call time* (``spec.HOUSE.bottom_line``, never a
copy made at import), so renaming a heading here renames it on the page, in the parser and in
the check at once, and a test can swap :data:`HOUSE` for a renamed one.

A rendered article is, in :data:`BLOCKS` order::

    # Question                                   (question)
    Review status: Submitted · Under Review ✓ …  (review_status: the status badge)
    Educational purpose only • …                 (caution, until approved)
    Drafted without a language model: …          (extractive_notice, optional)
    Last updated: January 5, 2026 · For …        (last_updated)
    **Verdict in one line**                      (verdict_headline)
    Summary paragraph.                           (summary)
    ## Section heading                           (evidence_sections: H2 sections, an optional
    Lead line.                                    lead, bullets that end in a citation group,
    - Bullet text [1, 2] ⚠ low support            the flag only on a low-support bullet)
    ## Bottom Line                               (bottom_line)
    ## References                                (references: "1. text — level · [url](url)"
    1. Author A. Title. 2001. — Level 2           or "No sources were cited.")
    ## Related Questions                         (related_questions, left out when empty)
    - Another question?
    **Professional disclaimer:** text            (disclaimer: "**Label:** text")
    ---
    Provenance: Drafter: … · Settings hash: …    (provenance, after the last rule)

**Text encoding.** Every untrusted value is collapsed to one line and passed through
:func:`escape_markdown` by the Markdown template's environment; labels from :data:`HOUSE` are
values too, so a label is escaped exactly like any other text. Hence a value can never *start*
a block (``#``, ``**``, ``-``, ``1.`` are backslash-escaped) and never holds an unescaped
``[``: that is what lets the parser tell the markers from the text.
:func:`unescape_markdown` is its exact inverse.

The HTML body (``article.html.j2``) shows the same labels from the same object; its layout is
HTML, so only the labels, not the Markdown markers, are shared with it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import cache
from urllib.parse import quote

from markupsafe import Markup

__all__ = [
    "BLOCKS",
    "HOUSE",
    "Block",
    "HouseFormat",
    "escape_markdown",
    "markdown_url",
    "unescape_markdown",
]


@dataclass(frozen=True)
class Block:
    """One block of the house format: its name, whether the structure check scores it, and
    what a reader sees there."""

    name: str
    checked: bool
    description: str


BLOCKS: tuple[Block, ...] = (
    Block("question", False, "'# ' and the question"),
    Block("review_status", True, "the review-status badge: '<label>: ' and the steps"),
    Block("caution", False, "the pending-review caution (until approved)"),
    Block("extractive_notice", False, "the no-language-model notice (optional)"),
    Block("last_updated", True, "'<label>: ' date · audience"),
    Block("verdict_headline", True, "the verdict, one line wholly in bold"),
    Block("summary", True, "a prose paragraph right after the headline"),
    Block("evidence_sections", True, "H2 sections: optional lead, bullets ending in [n, m]"),
    Block("bottom_line", True, "'## <label>' and a paragraph"),
    Block("references", True, "'## <label>' and numbered entries, or the no-sources line"),
    Block("related_questions", True, "'## <label>' and a bullet per question (optional)"),
    Block("disclaimer", True, "'**Label:** text' (the audience's wording)"),
    Block("provenance", False, "after a '---' rule: '<label>: ' name: value · …"),
)
"""The blocks of a rendered article, in page order (the structure check scores ``checked``)."""


@dataclass(frozen=True)
class HouseFormat:
    """The labels and headings of the house format (see the module docstring for the layout)."""

    review_status: str = "Review status"
    last_updated: str = "Last updated"
    bottom_line: str = "Bottom Line"
    references: str = "References"
    no_sources: str = "No sources were cited."
    related_questions: str = "Related Questions"
    provenance: str = "Provenance"
    flag_suffix: str = "⚠ low support"
    """Appended to a low-support bullet in Markdown (regenerated from the checks, not text)."""
    flag_note: str = "Low support — reviewer check"
    """The HTML form of the flag."""

    def heading(self, label: str) -> str:
        """The Markdown line of an H2 heading with ``label`` (escaped like any value)."""
        return f"## {escape_markdown(label)}"

    def prefix(self, label: str) -> str:
        """The start of a labelled line (``Review status: ``, ``Last updated: ``, …)."""
        return f"{escape_markdown(label)}: "

    def fixed_headings(self) -> frozenset[str]:
        """The H2 titles (as written in Markdown) that are not evidence sections."""
        return frozenset(
            escape_markdown(label)
            for label in (self.bottom_line, self.references, self.related_questions)
        )

    def after_bottom_line(self) -> frozenset[str]:
        """The headings that may follow Bottom Line, casefolded as the parser compares them."""
        return frozenset(fold(label) for label in (self.references, self.related_questions))


HOUSE = HouseFormat()
"""The house format. Read it as ``spec.HOUSE`` at call time so a replacement takes effect."""


# --------------------------------------------------------------------------- marker syntax

BOLD_LINE = re.compile(r"^\*\*(.*)\*\*$")
"""A line wholly in bold: the verdict headline (group 1 is its escaped text)."""
DISCLAIMER = re.compile(r"^\*\*[^*]+:\*\*")
"""The start of the disclaimer line, ``**Label:**``."""
HEADING = re.compile(r"^(#{1,6})(?:\s+(.*))?$")
"""An ATX heading line (level = length of group 1); only ``##`` is a section."""
BULLET = re.compile(r"^[-*+](?:\s+(.*))?$")
"""A list item; the renderer writes ``- `` and the parser also reads ``*`` and ``+``."""
REFERENCE = re.compile(r"^\d+\. \S")
"""A numbered reference entry."""
RULE = "---"
"""The thematic break before the provenance footer."""
CITE_OPEN, CITE_SEPARATOR, CITE_CLOSE = "[", ", ", "]"
"""A bullet's citation group, ``[1, 2]``: reference numbers at the end of the bullet."""


@cache
def cited_bullet(house: HouseFormat) -> re.Pattern[str]:
    """A bullet exactly as rendered: text, a citation group, optionally the flag."""
    group = rf"{re.escape(CITE_OPEN)}\d+(?:{re.escape(CITE_SEPARATOR)}\d+)*{re.escape(CITE_CLOSE)}"
    return re.compile(rf"^- \S.* {group}(?: {re.escape(escape_markdown(house.flag_suffix))})?$")


@cache
def trailing_flag(house: HouseFormat) -> re.Pattern[str]:
    """The flag at the end of a bullet line."""
    return re.compile(rf"(?:^|\s){re.escape(escape_markdown(house.flag_suffix))}$")


def fold(label: str) -> str:
    """A heading title as the parser compares it: whitespace collapsed, casefolded."""
    return " ".join(label.split()).casefold()


# --------------------------------------------------------------------------- text encoding

_MD_INLINE = re.compile(r"[\\`*_\[\]#~]")
_MD_LINE_START = re.compile(r"^(\d+)([.)])|^([-+=])")
_BACKSLASH = re.compile(r"\\([\\`*_\[\]#~.)+=\-])")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{0,31});")


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


def unescape_markdown(text: str) -> str:
    """Undo :func:`escape_markdown`: backslash escapes, then HTML entities."""
    text = _BACKSLASH.sub(r"\1", text)
    return _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)


def markdown_url(url: str) -> Markup:
    """A link destination: characters that could end or break it are percent-encoded."""
    return Markup(quote(url, safe="/:?#[]@!$'*+,;=%~-._").replace("&", "&amp;"))
