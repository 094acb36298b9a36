"""Citation check: clean a draft's citation numbers, renumber them, score their support.

Drafters cite evidence by number in each bullet's ``citations`` list or inline as ``[2]``,
``[1, 3]``, ``[4-6]`` (LLMs do both). All functions are pure, so each rule has one-line
tests and the numbering invariants have property tests. :func:`check_citations` follows
storm's ``reorder_reference_index``:

1. *Normalize* (:func:`normalize_draft`): a bullet's inline markers join its list (list
   first, duplicates dropped). The house format cites only in bullets, so markers in the
   headline, summary, bottom line, headings, leads and related questions are removed and
   reported; a lead's numbers are not handed to a bullet that did not claim them.
2. *Resolve*: numbers that are no evidence item's number are removed, every occurrence
   counted; a bullet left without a citation is reported as uncited, never given one.
3. *Renumber* by first appearance in reading order (sections, bullets, each bullet's list):
   references run 1..n without gaps, one number per source; uncited evidence is dropped.
4. *Support* (:func:`support_score`): a cheap proxy, not entailment. The share of the
   claim's content words (lower-cased, stop words dropped, Snowball-stemmed) found anywhere
   in the cited passages, so a bullet whose drug, dose, outcome or numbers are absent from
   its sources scores low; it cannot see negation. With an ``embed`` callable the score is
   ``max(lexical, cosine)`` against the cited passages' best-matching sentence, which
   rescues faithful paraphrases. Bullets under ``support_threshold`` are flagged.

Inline markers are read and removed by :mod:`pipeline.cite.markers`; references are
formatted AMA/Vancouver style by :mod:`pipeline.cite.references`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import Stemmer
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from pipeline.cite.markers import pull_markers, strip_markers
from pipeline.cite.references import format_reference, reference_url
from pipeline.models.article import Bullet, Draft, DraftSection, Reference
from pipeline.models.corpus import Citation, EvidenceLevel
from pipeline.models.evidence import Evidence, EvidenceSet
from pipeline.text import split_sentences, words

Embed = Callable[[list[str]], NDArray[Any]]
"""Texts → one unit vector per row (the project's embedding model)."""

_STOP_WORDS = frozenset((
    "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and",
    "any", "are", "as", "at", "be", "because", "been", "before", "being", "below", "between",
    "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during",
    "each", "either", "few", "for", "from", "further", "had", "has", "have", "having", "he",
    "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its",
    "itself", "may", "me", "might", "more", "most", "must", "my", "neither", "no", "nor",
    "not", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "out", "over",
    "own", "per", "same", "shall", "she", "should", "so", "some", "such", "than", "that",
    "the", "their", "theirs", "them", "then", "there", "these", "they", "this", "those",
    "through", "to", "too", "under", "until", "up", "upon", "us", "very", "via", "was", "we",
    "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with",
    "within", "without", "would", "you", "your", "s", "t",
))  # fmt: skip
_local = threading.local()  # PyStemmer objects keep a cache and are not thread-safe


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BulletRef(_Record):
    """A bullet located by section and bullet index (0-based), with its text."""

    section_index: int
    bullet_index: int
    text: str


class BulletSupport(_Record):
    """A cited bullet's support score (:func:`support_score`) under its new numbers."""

    section_index: int
    bullet_index: int
    numbers: list[int]
    score: float
    flagged: bool
    best_passage_id: str | None = None


class ProseMarker(_Record):
    """Citation numbers removed from text outside bullets; ``field`` says where."""

    field: str
    numbers: list[int]


class CitationCheck(_Record):
    """What :func:`check_citations` returns.

    ``draft`` is cleaned and renumbered; ``references`` are numbered 1..n; ``renumbering``
    maps old evidence numbers to reference numbers. ``removed_markers`` counts every
    occurrence in bullets of a number with no evidence item (``removed_numbers`` lists each
    once); ``prose_markers`` lists the markers removed outside bullets. ``uncited_bullets``
    have no citation left; ``bullet_support`` covers every other bullet.
    """

    draft: Draft
    references: list[Reference]
    removed_markers: int
    removed_numbers: list[int]
    uncited_bullets: list[BulletRef]
    bullet_support: list[BulletSupport]
    renumbering: dict[int, int]
    prose_markers: list[ProseMarker]


def _unique(numbers: Sequence[int]) -> list[int]:
    return list(dict.fromkeys(numbers))


def _raw_numbers(bullet: Bullet) -> list[int]:
    return [*bullet.citations, *pull_markers(bullet.text)[1]]


def _normalize(draft: Draft) -> tuple[Draft, list[ProseMarker]]:
    found: list[ProseMarker] = []

    def prose(field: str, text: str) -> str:
        text, numbers = pull_markers(text)
        if numbers:
            found.append(ProseMarker(field=field, numbers=numbers))
        return text

    headline = prose("headline", draft.headline)
    summary = prose("summary", draft.summary)
    sections = [
        DraftSection(
            heading=prose(f"sections[{i}].heading", section.heading),
            lead=None if section.lead is None else prose(f"sections[{i}].lead", section.lead),
            bullets=[
                Bullet(text=strip_markers(b.text), citations=_unique(_raw_numbers(b)))
                for b in section.bullets
            ],
        )
        for i, section in enumerate(draft.sections)
    ]
    bottom_line = prose("bottom_line", draft.bottom_line)
    related = [prose(f"related_questions[{i}]", q) for i, q in enumerate(draft.related_questions)]
    fields = {"headline": headline, "summary": summary, "sections": sections}
    fields |= {"bottom_line": bottom_line, "related_questions": related}
    return draft.model_copy(update=fields), found


def normalize_draft(draft: Draft) -> Draft:
    """Move bullets' inline markers into their ``citations``; strip markers elsewhere.

    A bullet's citations become its list followed by its text's markers, duplicates
    dropped, order kept. Numbers are not checked against any evidence here.
    """
    return _normalize(draft)[0]


def _stemmer() -> Any:
    if not hasattr(_local, "stemmer"):
        _local.stemmer = Stemmer.Stemmer("english")
    return _local.stemmer


def content_terms(text: str) -> set[str]:
    """Stemmed, lower-cased words of ``text`` without stop words (hyphenated parts split)."""
    tokens = [p for w in words(text) for p in re.split(r"[-']", w) if p and p not in _STOP_WORDS]
    return set(_stemmer().stemWords(tokens))


@lru_cache(maxsize=65536)
def term_set(text: str) -> frozenset[str]:
    """:func:`content_terms` as a frozen set, cached (claim checks score the same passages
    for every bullet and sentence)."""
    return frozenset(content_terms(text))


def embedding_once(embed: Embed) -> Embed:
    """``embed`` with unit rows that embeds each distinct text once (bullets share sources)."""
    vectors: dict[str, NDArray[Any]] = {}

    def cached(texts: list[str]) -> NDArray[Any]:
        if missing := [t for t in dict.fromkeys(texts) if t not in vectors]:
            rows = np.asarray(embed(missing), dtype=np.float64)
            rows /= np.linalg.norm(rows, axis=1, keepdims=True).clip(min=1e-12)
            vectors.update(zip(missing, rows, strict=True))
        return np.stack([vectors[t] for t in texts])

    return cached


def support_best(
    claim: str, passages: Sequence[str], embed: Embed | None
) -> tuple[float, int | None]:
    """The support score (:func:`support_score`) and the index of the best passage."""
    terms = content_terms(claim)
    if not terms or not passages:
        return 0.0, None
    passage_terms = [content_terms(p) for p in passages]
    lexical = len(terms & set[str]().union(*passage_terms)) / len(terms)
    per_passage = [len(terms & p) / len(terms) for p in passage_terms]
    if embed is not None:
        sentences = [(i, s) for i, p in enumerate(passages) for s in split_sentences(p)]
        if sentences:
            vectors = embed([claim, *(s for _, s in sentences)])
            cosines = np.clip(vectors[1:] @ vectors[0], 0.0, 1.0)
            for (i, _), cosine in zip(sentences, cosines, strict=True):
                per_passage[i] = max(per_passage[i], float(cosine))
            lexical = max(lexical, float(cosines.max()))
    return min(lexical, 1.0), max(range(len(passages)), key=per_passage.__getitem__)


def support_score(
    claim: str, passages_texts: Sequence[str], *, embed: Embed | None = None
) -> float:
    """How much of ``claim`` the passages cover, 0..1 (the proxy is in the module docstring).

    Lexical: the share of the claim's distinct content terms (:func:`content_terms`) found
    in the union of the passages. With ``embed``, ``max(lexical, cosine)`` where cosine is
    between the claim and the passages' best-matching sentence. A claim without content
    words scores 0.
    """
    return support_best(claim, passages_texts, embed)[0]


def cited_evidence(evidence: EvidenceSet, renumbering: dict[int, int]) -> EvidenceSet:
    """The evidence set cut down to the cited items, numbered as in the references."""
    by_number = evidence.by_number()
    items: dict[int, Evidence] = {}
    for old, new in sorted(renumbering.items(), key=lambda pair: (pair[1], pair[0])):
        item = by_number[old]
        if new not in items:
            items[new] = item.model_copy(update={"number": new})
            continue
        # Two numbers for one source became one reference: pool their passages.
        merged = items[new]
        seen = {p.passage.id for p in merged.passages}
        extra = [p for p in item.passages if p.passage.id not in seen]
        items[new] = merged.model_copy(update={"passages": [*merged.passages, *extra]})
    return evidence.model_copy(update={"items": list(items.values())})


def _renumber(
    draft: Draft, normalized: Draft, known: dict[int, Evidence]
) -> tuple[list[DraftSection], dict[int, int], list[int]]:
    """Renumbered sections, old → new numbers, and every unknown number met in bullets."""
    renumbering: dict[int, int] = {}
    by_source: dict[str, int] = {}  # citation id → new number: one number per source
    removed: list[int] = []
    sections = []
    for section, original in zip(normalized.sections, draft.sections, strict=True):
        bullets = []
        for bullet, raw in zip(section.bullets, original.bullets, strict=True):
            removed += [n for n in _raw_numbers(raw) if n not in known]
            kept = [n for n in bullet.citations if n in known]
            for number in kept:
                if number not in renumbering:
                    source = known[number].citation.id
                    renumbering[number] = by_source.setdefault(source, len(by_source) + 1)
            citations = _unique([renumbering[n] for n in kept])
            bullets.append(bullet.model_copy(update={"citations": citations}))
        sections.append(section.model_copy(update={"bullets": bullets}))
    return sections, renumbering, removed


def _reference(number: int, citation: Citation) -> Reference:
    return Reference(
        number=number,
        citation_id=citation.id,
        citation=citation,
        text=format_reference(citation),
        evidence_level=citation.evidence_level or EvidenceLevel.OTHER,
        url=reference_url(citation),
    )


def check_citations(
    draft: Draft,
    evidence: EvidenceSet,
    *,
    support_threshold: float = 0.35,
    embed: Embed | None = None,
) -> CitationCheck:
    """Clean, resolve and renumber a draft's citations and score each bullet's support.

    Returns the renumbered draft with its reference list and a report of what changed
    (see the module docstring for the rules). ``embed`` adds a sentence-embedding cosine
    to the support score; bullets scoring under ``support_threshold`` are flagged.
    """
    normalized, prose_markers = _normalize(draft)
    sections, renumbering, removed = _renumber(draft, normalized, evidence.by_number())
    cited = cited_evidence(evidence, renumbering).by_number()
    cached = embedding_once(embed) if embed is not None else None
    uncited: list[BulletRef] = []
    support: list[BulletSupport] = []
    for s, section in enumerate(sections):
        for b, bullet in enumerate(section.bullets):
            if not bullet.citations:
                uncited.append(BulletRef(section_index=s, bullet_index=b, text=bullet.text))
                continue
            passages = [p.passage for n in bullet.citations for p in cited[n].passages]
            score, best = support_best(bullet.text, [p.text for p in passages], cached)
            support.append(
                BulletSupport(
                    section_index=s,
                    bullet_index=b,
                    numbers=bullet.citations,
                    score=score,
                    flagged=score < support_threshold,
                    best_passage_id=None if best is None else passages[best].id,
                )
            )
    return CitationCheck(
        draft=normalized.model_copy(update={"sections": sections}),
        references=[_reference(n, item.citation) for n, item in sorted(cited.items())],
        removed_markers=len(removed),
        removed_numbers=_unique(removed),
        uncited_bullets=uncited,
        bullet_support=support,
        renumbering=renumbering,
        prose_markers=prose_markers,
    )
