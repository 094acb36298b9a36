"""The house-format structure check, read from an article's rendered Markdown.

Design
------
The check reads the Markdown that :func:`pipeline.article.render.to_markdown` produces, not the
:class:`~pipeline.models.Article` model, so it tests what a reader actually gets: a bug in
a template or in the renderer shows up here. Each part of the house format is one boolean:

* ``review_status``: a ``Review status: …`` line (the review badge);
* ``last_updated``: a ``Last updated: …`` line;
* ``verdict_headline``: a line that is entirely bold (``**…**``) and is not the disclaimer;
* ``summary``: the first non-blank line after the headline is prose (not a heading,
  bullet or bold line);
* ``evidence_sections``: at least one H2 section other than Bottom Line, References and
  Related Questions has bullets, and every bullet in those sections ends with citation
  numbers (``… [1, 2]``, optionally followed by the low-support flag);
* ``bottom_line``: ``## Bottom Line`` followed by text;
* ``references``: ``## References`` followed by numbered entries (``1. …``), or by
  "No sources were cited." for an abstention;
* ``related_questions``: ``## Related Questions`` with at least one bullet;
* ``disclaimer``: a ``**Label:** text`` line (clinician or patient wording).

An abstention has nothing to cite, so ``evidence_sections`` and ``related_questions`` are
``None`` (not applicable) for it rather than failures.
"""

from __future__ import annotations

import re

__all__ = ["STRUCTURE_PARTS", "structure_check"]

STRUCTURE_PARTS = (
    "review_status",
    "last_updated",
    "verdict_headline",
    "summary",
    "evidence_sections",
    "bottom_line",
    "references",
    "related_questions",
    "disclaimer",
)
"""The house-format parts :func:`structure_check` looks for, in page order."""

_FIXED_H2 = {"Bottom Line", "References", "Related Questions"}
_CITED_BULLET = re.compile(r"^- \S.* \[\d+(?:, \d+)*\](?: ⚠ low support)?$")
_DISCLAIMER = re.compile(r"^\*\*[^*]+:\*\* \S")
_HEADLINE = re.compile(r"^\*\*[^*].*\*\*$")
_REFERENCE = re.compile(r"^\d+\. \S")


def _h2_blocks(lines: list[str]) -> dict[str, list[list[str]]]:
    blocks: dict[str, list[list[str]]] = {}
    current: list[str] | None = None
    for line in lines:
        if line.startswith("## "):
            current = []
            blocks.setdefault(line[3:].strip(), []).append(current)
        elif line.startswith("---") or _DISCLAIMER.match(line):
            current = None
        elif current is not None and line.strip():
            current.append(line)
    return blocks


def structure_check(markdown: str, *, abstained: bool) -> dict[str, bool | None]:
    """Which house-format parts the rendered Markdown has (``None`` = not applicable)."""
    lines = markdown.splitlines()
    headline = next(
        (
            i
            for i, line in enumerate(lines)
            if _HEADLINE.match(line) and not _DISCLAIMER.match(line)
        ),
        None,
    )
    after = [line for line in lines[headline + 1 :] if line.strip()] if headline is not None else []
    blocks = _h2_blocks(lines)
    evidence = [body for name, bodies in blocks.items() if name not in _FIXED_H2 for body in bodies]
    bullets = [line for body in evidence for line in body if line.startswith("- ")]
    references = blocks.get("References", [[]])[0]
    return {
        "review_status": any(line.startswith("Review status: ") for line in lines),
        "last_updated": any(line.startswith("Last updated: ") for line in lines),
        "verdict_headline": headline is not None,
        "summary": bool(after) and not after[0].startswith(("#", "- ", "**")),
        "evidence_sections": None
        if abstained
        else bool(bullets) and all(_CITED_BULLET.match(b) for b in bullets),
        "bottom_line": bool(blocks.get("Bottom Line", [[]])[0]),
        "references": bool(references)
        and (
            all(_REFERENCE.match(line) for line in references)
            or (abstained and references == ["No sources were cited."])
        ),
        "related_questions": None
        if abstained
        else any(line.startswith("- ") for line in blocks.get("Related Questions", [[]])[0]),
        "disclaimer": any(_DISCLAIMER.match(line) for line in lines),
    }
