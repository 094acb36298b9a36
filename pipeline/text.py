"""Small text utilities shared by chunking, drafting and the citation check.

Sentence splitting is a regular expression with an abbreviation guard rather than a
library: the trained splitters (NLTK punkt) need a data download, and the rule-based one
on PyPI (pysbd) is two orders of magnitude slower; scientific abstracts split well on
sentence punctuation followed by a capital, digit or bracket.
"""

from __future__ import annotations

import re

_ABBREVIATIONS = (
    "e.g.", "i.e.", "et al.", "vs.", "Dr.", "Fig.", "Figs.", "No.", "approx.", "ca.", "cf.",
    "Ref.", "St.", "Mr.", "Ms.", "Jr.", "Inc.", "Ltd.", "Co.", "U.S.", "al.",
)  # fmt: skip
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9])")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


def normalize_space(text: str) -> str:
    """Collapse runs of white space into one space and strip the ends."""
    return _SPACE.sub(" ", text).strip()


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences, keeping abbreviations such as "et al." intact."""
    text = normalize_space(text)
    if not text:
        return []
    pieces: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        candidate = text[start : match.start() + 1]
        if candidate.rstrip("\"')]").endswith(_ABBREVIATIONS):
            continue
        pieces.append(text[start : match.end()].strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        pieces.append(tail)
    return pieces


def words(text: str) -> list[str]:
    """Lower-case word tokens (letters, digits, inner hyphens/apostrophes)."""
    return _WORD.findall(text.lower())


_YES_NO_LEADS = frozenset(
    {"is", "are", "was", "were", "does", "do", "did", "should", "can", "could", "will"}
    | {"would", "has", "have", "had", "may", "might", "must", "shall"}
)


def is_yes_no_question(question: str) -> bool:
    """True when ``question`` asks for a yes/no answer: it opens with an auxiliary verb
    ("Is …", "Does …", "Can …"). Drafting's house-format check and the claim checks share it."""
    tokens = words(question)
    return bool(tokens) and tokens[0] in _YES_NO_LEADS
