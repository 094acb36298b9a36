"""Read house-format Markdown (``render.to_markdown``, possibly edited by hand) back into a Draft.

Design
------
A reviewer may open an article in ``$EDITOR``, change a bullet or a citation number, and save.
:func:`parse_article_markdown` turns that file back into a :class:`~pipeline.models.article.Draft`;
everything the renderer *derives* (question line, review-status badge, caution, "Last updated",
References, disclaimer, provenance footer, "⚠ low support" flags) is skipped, because it is
regenerated from the article and its checks. Every heading, label and marker the parser looks
for comes from :mod:`pipeline.article.spec` (read at call time), the same description the
renderer and the evaluation's structure check use; the names below are the defaults.

The parse is line based and leans on one property of the renderer: every untrusted value is
collapsed to one line and escaped by :func:`pipeline.article.spec.escape_markdown`, so a value can
never *start* with Markdown syntax (``#``, ``**``, ``-``, ``1.`` are all backslash-escaped) and
can never contain an unescaped ``[``. Hence, for rendered text:

* the first line that is wholly ``**bold**`` is the headline; the paragraph after it is the
  summary;
* ``## …`` lines are headings; the **last** ``## Bottom Line`` is the real one (a section may
  itself be called "Bottom Line", but sections always come before the real one);
* in a section, ``- …`` lines are bullets and any other text is the lead line; a bullet ends
  with an unescaped ``[1, 2]`` group holding its reference numbers;
* after ``---`` comes only the provenance footer.

:func:`unescape_markdown` reverses ``escape_markdown`` exactly (backslash escapes in one pass,
then ``&amp;``/``&lt;``/``&gt;`` and other ``&name;`` entities in one pass), so
``parse_article_markdown(to_markdown(a), a) == normalize_draft_text(a.draft)`` for every
article, where :func:`normalize_draft_text` applies the renderer's whitespace collapsing.
Hand edits are read leniently (wrapped bullet lines, ``*``/``+`` list markers, ``[1,2]``,
``[1-3]`` or ``[1][2]`` citations); anything the parser cannot place raises :class:`EditError`
naming the line and saying how to fix it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.article import spec
from pipeline.article.spec import unescape_markdown
from pipeline.cite.markers import extract_markers
from pipeline.errors import EditError
from pipeline.models.article import Article, Bullet, Draft, DraftSection

__all__ = [
    "normalize_draft_text",
    "parse_article_markdown",
    "read_markdown_file",
    "unescape_markdown",
]

FLAG_SUFFIX = spec.HOUSE.flag_suffix
"""What ``render.to_markdown`` appends to a flagged bullet (regenerated from the checks);
the parser itself reads ``spec.HOUSE`` at call time."""

_HEADLINE = spec.BOLD_LINE
_HEADING = spec.HEADING
_BULLET = spec.BULLET
_DISCLAIMER = spec.DISCLAIMER
# A bracket group at the end of a bullet; "[" must not be escaped (start, space or "]" before).
_TRAILING_GROUP = re.compile(r"(?:^|(?<=[\s\]]))\[([^\[\]]*)\][ \t]*$")
# The renderer's own group content: "n, n" (a leading minus is escaped as "\-").
_EXACT_CITES = re.compile(rf"(?:\\?-)?\d+(?:{spec.CITE_SEPARATOR}-?\d+)*")


MAX_MARKDOWN_BYTES = 5 << 20
"""An edited article larger than this is refused (a rendered article is a few kB)."""


def read_markdown_file(path: Path) -> str:
    """The text of ``press edit --from FILE``; raises :class:`EditError` for what is not one.

    Only a regular file is read: a directory, a missing file, a symlink loop, a device such
    as ``/dev/zero`` or a FIFO (read forever) is refused, as are files over
    :data:`MAX_MARKDOWN_BYTES` and bytes that are not UTF-8.
    """
    hint = "Pass --from a saved Markdown file (e.g. the article.md of the draft)."
    try:
        if not path.is_file():
            raise EditError(f"{path} is not a regular file", hint)
        if path.stat().st_size > MAX_MARKDOWN_BYTES:
            raise EditError(f"{path} is larger than {MAX_MARKDOWN_BYTES >> 20} MB", hint)
        return path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise EditError(f"cannot read {path}: {exc.strerror or exc}", hint) from exc
    except UnicodeDecodeError as exc:
        raise EditError(f"{path} is not UTF-8 text: {exc.reason}", hint) from exc


def _collapse(text: str | None) -> str:
    return " ".join((text or "").split())


def normalize_draft_text(draft: Draft) -> Draft:
    """``draft`` as the renderer shows it: whitespace collapsed, empty leads and questions gone.

    This is the form a Markdown round trip preserves exactly.
    """
    return draft.model_copy(
        update={
            "headline": _collapse(draft.headline),
            "summary": _collapse(draft.summary),
            "bottom_line": _collapse(draft.bottom_line),
            "related_questions": [_collapse(q) for q in draft.related_questions if _collapse(q)],
            "sections": [
                DraftSection(
                    heading=_collapse(s.heading),
                    lead=_collapse(s.lead) or None,
                    bullets=[
                        Bullet(text=_collapse(b.text), citations=list(b.citations))
                        for b in s.bullets
                    ],
                )
                for s in draft.sections
            ],
        }
    )


@dataclass
class _Line:
    number: int
    text: str


@dataclass
class _SectionBuilder:
    heading: str
    lead: list[str] = field(default_factory=list)
    bullets: list[_Line] = field(default_factory=list)  # raw bullet text, continuations joined


def _lines(markdown: str) -> list[_Line]:
    text = markdown.replace("\r\n", "\n").replace("\r", "\n")
    return [_Line(n, line.rstrip()) for n, line in enumerate(text.split("\n"), start=1)]


def _heading(line: _Line) -> tuple[int, str] | None:
    """(level, unescaped title) of an ATX heading line, else None."""
    match = _HEADING.match(line.text)
    return (len(match[1]), unescape_markdown(match[2] or "")) if match else None


def _is_heading(line: _Line, title: str) -> bool:
    found = _heading(line)
    return found is not None and found[0] == 2 and _collapse(found[1]).casefold() == title


def _citations(rest: str, line: int) -> tuple[str, list[int]]:
    """Split a bullet's raw text into (escaped text, reference numbers), peeling end groups.

    The renderer writes one ``[1, 2]`` group; hand edits may write ``[1] [2]``, ``[1,2]``,
    ``[1-3]`` or ``[1; 2]`` (read by :func:`pipeline.cite.markers.extract_markers`). A bracket that
    holds no citation numbers (``[sic]``) stays part of the text.
    """
    numbers: list[int] = []
    while group := _TRAILING_GROUP.search(rest):
        if _EXACT_CITES.fullmatch(group[1]):
            try:
                found = [int(n.lstrip("\\")) for n in group[1].split(spec.CITE_SEPARATOR)]
            except ValueError as error:  # more digits than int() accepts
                raise EditError(
                    f"citation group {group[0].strip()!r} is not a list of reference numbers",
                    "write the reference numbers as [1, 2]",
                    line=line,
                ) from error
        else:
            found = extract_markers(group[0].strip())
        if not found:
            break
        numbers[:0] = found
        rest = rest[: group.start()].rstrip()
    return rest, numbers


def _bullet(raw: _Line) -> tuple[Bullet, Bullet | None]:
    """The bullet read with any trailing flag stripped, and (if there was a flag) read as text.

    ``- text ⚠ low support`` is the renderer's flag on an uncited bullet, or an uncited bullet
    whose own text ends that way; the caller decides between the two with the original article.
    """
    rest = raw.text.strip()
    flag = spec.trailing_flag(spec.HOUSE).search(rest)
    stripped = rest[: flag.start()] if flag else rest
    text, numbers = _citations(stripped, raw.number)
    bullet = Bullet(text=_collapse(unescape_markdown(text)), citations=numbers)
    if flag is None or numbers:  # after a citation group the suffix can only be the flag
        return bullet, None
    return bullet, Bullet(text=_collapse(unescape_markdown(rest)), citations=[])


def _pick(
    candidates: tuple[Bullet, Bullet | None], position: tuple[int, int], original: Draft
) -> Bullet:
    """Choose between the flag reading and the literal reading of an ambiguous bullet.

    The original bullet at the same position wins; else a reading that matches some original
    bullet; else the flag reading (a human rarely ends a sentence with the flag's words).
    """
    flagged, literal = candidates
    if literal is None:
        return flagged
    same_place = None
    if position[0] < len(original.sections):
        bullets = original.sections[position[0]].bullets
        same_place = bullets[position[1]] if position[1] < len(bullets) else None
    if same_place is not None and same_place in candidates:
        return same_place
    known = [b for s in original.sections for b in s.bullets]
    return literal if literal in known and flagged not in known else flagged


def _body(lines: list[_Line]) -> tuple[list[str], list[_SectionBuilder]]:
    """Summary lines and sections between the headline and the real Bottom Line."""
    summary: list[str] = []
    sections: list[_SectionBuilder] = []
    open_bullet = False  # the previous line was a bullet (or its continuation)
    for line in lines:
        if not line.text:
            open_bullet = False
            continue
        heading = _heading(line)
        bullet = _BULLET.match(line.text)
        if heading is not None:
            if heading[0] != 2:
                raise EditError(
                    f"a level-{heading[0]} heading {line.text!r} in the article body",
                    "use '## Heading' for a section; other heading levels are not supported",
                    line=line.number,
                )
            sections.append(_SectionBuilder(_collapse(heading[1])))
            open_bullet = False
        elif bullet is not None:
            if not sections:
                raise EditError(
                    "a bullet outside a section",
                    "put a '## Heading' line above the bullet, or remove its leading '- '",
                    line=line.number,
                )
            sections[-1].bullets.append(_Line(line.number, bullet[1] or ""))
            open_bullet = True
        elif not sections:
            summary.append(line.text)
        elif open_bullet or (line.text[0].isspace() and sections[-1].bullets):
            last = sections[-1].bullets[-1]
            last.text = f"{last.text} {line.text.strip()}"
        elif not sections[-1].bullets:
            sections[-1].lead.append(line.text)
        else:
            raise EditError(
                f"text after the bullets of section {sections[-1].heading!r}",
                "make it a bullet ('- text [1]') or move it above the bullets as the lead line",
                line=line.number,
            )
    return summary, sections


def _footer(lines: list[_Line]) -> tuple[list[str], list[str]]:
    """Bottom-line lines and related-question lines from the part after '## Bottom Line'."""
    house = spec.HOUSE
    related = spec.fold(house.related_questions)
    bottom: list[str] = []
    questions: list[str] = []
    region = "bottom"
    for line in lines:
        if not line.text:
            continue
        if _DISCLAIMER.match(line.text) or (
            region == related and line.text.startswith(house.prefix(house.provenance))
        ):
            break  # the disclaimer and the provenance footer are regenerated
        heading = _heading(line)
        if heading is not None:
            title = _collapse(heading[1]).casefold()
            if heading[0] != 2 or title not in house.after_bottom_line():
                raise EditError(
                    f"heading {line.text!r} after '## {house.bottom_line}'",
                    f"move sections above '## {house.bottom_line}'; only "
                    f"{house.references} and {house.related_questions} may follow it",
                    line=line.number,
                )
            region = title
            continue
        bullet = _BULLET.match(line.text)
        if region == "bottom":
            if bullet is not None:
                raise EditError(
                    f"a bullet in the {house.bottom_line}",
                    "write the bottom line as a paragraph, or move the bullet into a section",
                    line=line.number,
                )
            bottom.append(line.text)
        elif region == related:
            if bullet is None:
                raise EditError(
                    f"text in {house.related_questions} that is not a list item",
                    "start each related question with '- '",
                    line=line.number,
                )
            questions.append(bullet[1] or "")
    return bottom, questions


def _join(parts: list[str]) -> str:
    return _collapse(" ".join(unescape_markdown(p.strip()) for p in parts))


def parse_article_markdown(markdown: str, original: Article) -> Draft:
    """Read house-format Markdown (as written by ``render.to_markdown``) back into a Draft.

    Citation numbers are the article's *reference* numbers; they are not checked here (run
    the citation check on the result). ``insufficient_evidence`` and ``verdict`` are kept from
    ``original``. Raises :class:`EditError` (with the line number and a fix) when the text
    has no headline, a bullet outside a section, or otherwise cannot be placed.
    """
    lines = _lines(markdown)
    if not any(line.text.strip() for line in lines):
        raise EditError("the file is empty", "quit the editor without saving to keep the draft")
    rules = [i for i, line in enumerate(lines) if line.text == spec.RULE]
    lines = lines[: rules[-1]] if rules else lines  # the provenance footer follows the last rule
    head, stop = None, lines[-1].number if lines else 1
    for i, line in enumerate(lines):
        heading = _heading(line)
        if heading is not None and heading[0] != 1:  # level 1 is the question line
            stop = line.number
            break
        if _HEADLINE.match(line.text):
            head = i
            break
    if head is None:
        raise EditError(
            "no headline (a line in **bold**) before the first section",
            "put the one-line verdict in bold, e.g. '**IVIG probably helps**', above the summary",
            line=stop,
        )
    house = spec.HOUSE
    bottom = next(
        (
            i
            for i in range(len(lines) - 1, head, -1)
            if _is_heading(lines[i], spec.fold(house.bottom_line))
        ),
        None,
    )
    if bottom is None:
        raise EditError(
            f"no '## {house.bottom_line}' heading",
            f"add a '## {house.bottom_line}' line after the sections, followed by the conclusion",
            line=max(line.number for line in lines if line.text),
        )
    match = _HEADLINE.match(lines[head].text)
    assert match is not None
    summary, sections = _body(lines[head + 1 : bottom])
    bottom_lines, related = _footer(lines[bottom + 1 :])
    reference = normalize_draft_text(original.draft)
    return Draft(
        headline=_collapse(unescape_markdown(match[1])),
        summary=_join(summary),
        sections=[
            DraftSection(
                heading=section.heading,
                lead=_join(section.lead) or None,
                bullets=[
                    _pick(_bullet(raw), (s, b), reference) for b, raw in enumerate(section.bullets)
                ],
            )
            for s, section in enumerate(sections)
        ],
        bottom_line=_join(bottom_lines),
        related_questions=[q for q in (_join([r]) for r in related) if q],
        insufficient_evidence=original.draft.insufficient_evidence,
        verdict=original.draft.verdict,
    )
