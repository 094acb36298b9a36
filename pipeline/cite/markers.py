"""Citation markers in text: ``[1]``, ``[1, 2]``, ``[1;2]``, ``[1-3]``, ``[1–3]``, ``[1][2]``.

Reading (:func:`extract_markers`) and removing (:func:`strip_markers`, :func:`pull_markers`)
the numbers a drafter or an editor writes inline. Pure regular expressions with no numeric
or language dependency, kept apart from the support scoring of :mod:`pipeline.cite.check`
so that the publish gate, the Markdown parser of ``press edit`` and the evaluation read
markers without loading numpy and the stemmer (the CLI imports the gate at start-up).
Brackets holding anything else (``[sic]``, ``[a]``) or a number above 999 (``[2019]``) are
not citations; a range expands to at most :data:`MAX_RANGE` numbers.
"""

from __future__ import annotations

import re

MAX_RANGE = 50
"""A range marker such as ``[1-300]`` expands to at most this many numbers."""

_NUMBER = r"\d{1,3}"  # four digits and more are years or quantities, not citations
_ITEM = rf"{_NUMBER}(?:\s*[-–—]\s*{_NUMBER})?"
_MARKER = re.compile(rf"\[\s*({_ITEM}(?:\s*[,;]\s*{_ITEM})*)\s*\]")
_RUN = rf"{_MARKER.pattern}(?:[^\S\n]*,?[^\S\n]*{_MARKER.pattern})*"
# A run at a line start takes the spaces after it; elsewhere it takes the spaces before it,
# so "claim [1]." becomes "claim." and "[2] Claim" becomes "Claim".
_MARKER_RUN = re.compile(rf"(?m)^[^\S\n]*{_RUN}[^\S\n]*|[^\S\n]*{_RUN}")
_RANGE = re.compile(r"(\d+)\s*[-–—]\s*(\d+)")


def _expand(group: str) -> list[int]:
    numbers: list[int] = []
    for item in re.split(r"\s*[,;]\s*", group.strip()):
        bounds = _RANGE.fullmatch(item)
        if not bounds:
            numbers.append(int(item))
            continue
        low, high = int(bounds[1]), int(bounds[2])
        # A descending "range" is a typo we cannot read either way; keep both ends.
        numbers.extend(
            range(low, min(high, low + MAX_RANGE - 1) + 1) if low <= high else [low, high]
        )
    return numbers


def extract_markers(text: str) -> list[int]:
    """Citation numbers in ``text`` in order, repeats kept; ranges expanded.

    Reads ``[1]``, ``[1, 2]``, ``[1;2]``, ``[1-3]``, ``[1–3]`` and ``[1][2]``. Brackets
    holding anything else (``[sic]``, ``[a]``) or a number above 999 (``[2019]``) are
    not citations.
    """
    return [n for match in _MARKER.finditer(text) for n in _expand(match[1])]


def _replace_run(match: re.Match[str]) -> str:
    text = match.string
    before = text[match.start() - 1] if match.start() else " "
    after = text[match.end()] if match.end() < len(text) else " "
    return " " if not before.isspace() and (after.isalnum() or after in "([") else ""


def pull_markers(text: str) -> tuple[str, list[int]]:
    """``text`` without markers, and their numbers.

    Repeats until no marker is left, because removing ``[1]`` from ``[[1]2]`` leaves ``[2]``.
    """
    numbers: list[int] = []
    while found := extract_markers(text):
        numbers += found
        text = _MARKER_RUN.sub(_replace_run, text)
    return text, numbers


def strip_markers(text: str) -> str:
    """``text`` without citation markers or the spaces they leave before punctuation."""
    return pull_markers(text)[0]
