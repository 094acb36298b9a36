"""The house-format structure check, read from an article's rendered Markdown.

Design
------
The check reads the Markdown that :func:`pipeline.article.render.to_markdown` produces, not the
:class:`~pipeline.models.article.Article` model, so it tests what a reader actually gets: a bug in
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

Every heading, label and marker comes from :mod:`pipeline.article.spec` (read at call time),
the one description of the house format that the renderer and the ``press edit`` parser use
too; the parts are its checked blocks, and the names above are the default labels.

An abstention has nothing to cite, so ``evidence_sections`` and ``related_questions`` are
``None`` (not applicable) for it rather than failures.
"""

from __future__ import annotations

import re

from pipeline.article import spec

__all__ = ["STRUCTURE_PARTS", "structure_check"]

STRUCTURE_PARTS = tuple(block.name for block in spec.BLOCKS if block.checked)
"""The house-format parts :func:`structure_check` looks for, in page order (the checked
blocks of :data:`pipeline.article.spec.BLOCKS`)."""


_DISCLAIMER = re.compile(spec.DISCLAIMER.pattern + r" \S")  # some text after the label
_HEADLINE = re.compile(r"^\*\*[^*].*\*\*$")  # spec.BOLD_LINE, its text not starting with '*'


def _h2_blocks(lines: list[str]) -> dict[str, list[list[str]]]:
    blocks: dict[str, list[list[str]]] = {}
    current: list[str] | None = None
    for line in lines:
        if line.startswith("## "):
            current = []
            blocks.setdefault(line[3:].strip(), []).append(current)
        elif line.startswith(spec.RULE) or _DISCLAIMER.match(line):
            current = None
        elif current is not None and line.strip():
            current.append(line)
    return blocks


def structure_check(markdown: str, *, abstained: bool) -> dict[str, bool | None]:
    """Which house-format parts the rendered Markdown has (``None`` = not applicable)."""
    house = spec.HOUSE
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
    fixed = house.fixed_headings()
    evidence = [body for name, bodies in blocks.items() if name not in fixed for body in bodies]
    bullets = [line for body in evidence for line in body if line.startswith("- ")]
    references = blocks.get(spec.escape_markdown(house.references), [[]])[0]
    related = blocks.get(spec.escape_markdown(house.related_questions), [[]])[0]
    cited_bullet = spec.cited_bullet(house)
    return {
        "review_status": any(line.startswith(house.prefix(house.review_status)) for line in lines),
        "last_updated": any(line.startswith(house.prefix(house.last_updated)) for line in lines),
        "verdict_headline": headline is not None,
        "summary": bool(after) and not after[0].startswith(("#", "- ", "**")),
        "evidence_sections": None
        if abstained
        else bool(bullets) and all(cited_bullet.match(b) for b in bullets),
        "bottom_line": bool(blocks.get(spec.escape_markdown(house.bottom_line), [[]])[0]),
        "references": bool(references)
        and (
            all(spec.REFERENCE.match(line) for line in references)
            or (abstained and references == [spec.escape_markdown(house.no_sources)])
        ),
        "related_questions": None if abstained else any(line.startswith("- ") for line in related),
        "disclaimer": any(_DISCLAIMER.match(line) for line in lines),
    }
