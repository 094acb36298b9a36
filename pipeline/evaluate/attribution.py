"""Attribution benchmark (``press eval attribution``): is a claim cited to the right source?

Design
------
A *pair* is a claim, the evidence item it cites, and every evidence item retrieved for the
same question. Pairs come from real evidence, two sets:

* **demo**: the extractive drafter's bullets on a question set (default
  ``evals/sets/demo.jsonl``) over the configured index or ``--corpus``. A bullet is a
  sentence copied from the source it cites: a *correct* pair. Moving its citation to each
  other retrieved source of that question gives the *misattributed* pairs.
* **bioasq**: BioASQ dev questions (``dev_set.jsonl``) whose gold snippets
  (``snippets_corpus.jsonl``) are the question's evidence, one item per snippet: every
  snippet is on the question's topic, the hardest distractors the set has. The claim is a
  snippet's longest sentence; cited to its own snippet it is correct, cited to another
  snippet of the question (the next one in a fixed order) misattributed. A move to a
  snippet that contains the claim word for word is no misattribution and is skipped.

The detector is the drafting check itself: a pair is *flagged* when the cited item's
support (:func:`pipeline.cite.check.support_score`) is under the support threshold, or when
another item backs the claim better by the margin (:func:`pipeline.cite.attribution.better_source`,
comparing :func:`pipeline.cite.attribution.attribution_score`).
**Detection** is the share of misattributed pairs flagged, **false flags** the share of
correct pairs flagged. The margin is chosen on one half of the questions (``sha256(id)``
even): the *largest* margin whose detection there is ≥ 0.95 with false flags ≤ 0.05 (a
larger margin flags fewer faithful paraphrases, which these copied claims cannot show),
else the margin with the best detection under that false-flag cap. The report gives both
halves, the test half (odd) being the honest number, and the margin for the setting: the
smallest of the sets' margins, with every set's test-half rates at it. Time per claim is
the wall time of scoring a pair (embedding included, each text embedded once per set) over
the number of pairs.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from pipeline.cite.attribution import better_source
from pipeline.cite.check import Embed, embedding_once, support_best
from pipeline.errors import EvalSetError
from pipeline.evaluate.sets import EvalQuestion
from pipeline.models.corpus import Citation, Passage
from pipeline.models.evidence import Evidence, EvidenceSet, ScoredPassage
from pipeline.text import split_sentences, words

if TYPE_CHECKING:
    from pipeline.index.hybrid import Index
    from pipeline.settings.load import Settings
__all__ = [
    "MARGINS",
    "AttributionReport",
    "Pair",
    "SetResult",
    "bioasq_pairs",
    "demo_pairs",
    "drafted_runs",
    "evaluate_attribution",
]

MARGINS = tuple(round(0.025 * i, 3) for i in range(0, 21))
"""Margins tried on the tuning half (0 … 0.5)."""
MAX_FALSE_FLAGS = 0.05
MIN_DETECTION = 0.95


class Pair(BaseModel):
    """A claim cited to one evidence item, among the question's retrieved items."""

    model_config = ConfigDict(extra="forbid")

    question_id: str
    claim: str
    cited: str = Field(description="Citation id the claim is cited to.")
    source: str = Field(description="Citation id the claim comes from.")
    evidence: EvidenceSet

    @property
    def misattributed(self) -> bool:
        """True when the citation was moved away from the claim's source."""
        return self.cited != self.source


class Rates(BaseModel):
    """Detection and false flags on some pairs, with their counts."""

    model_config = ConfigDict(extra="forbid")

    pairs: int
    correct: int
    misattributed: int
    detection: float | None
    false_flags: float | None


class SetResult(BaseModel):
    """One set: the margin chosen on the tuning half and the rates on both halves."""

    model_config = ConfigDict(extra="forbid")

    name: str
    questions: int
    margin: float
    tune: Rates
    test: Rates
    test_at_setting: Rates | None = Field(
        None, description="Test-half rates at the report's recommended margin."
    )
    ms_per_claim: float
    sweep: list[tuple[float, float | None, float | None]] = Field(
        default_factory=list, description="(margin, detection, false flags) on the tuning half."
    )
    examples: list[dict[str, object]] = Field(
        default_factory=list, description="Test-half mistakes (up to 20): what a reader checks."
    )


class AttributionReport(BaseModel):
    """The benchmark's JSON report."""

    model_config = ConfigDict(extra="forbid")

    kind: str = "attribution"
    support_threshold: float
    goal: str = "detection >= 0.95 at false flags <= 0.05 on the test half"
    sets: list[SetResult]
    recommended_margin: float = Field(
        0.0, description="The smallest chosen margin: the value for draft.misattribution_margin."
    )
    seconds: float = 0.0


def _half(question_id: str) -> str:
    return "tune" if hashlib.sha256(question_id.encode()).digest()[-1] % 2 == 0 else "test"


def _item(number: int, citation_id: str, text: str, title: str = "") -> Evidence:
    citation = Citation(id=citation_id, title=title)
    passage = Passage(citation_id=citation_id, text=text)
    return Evidence(
        number=number,
        citation=citation,
        passages=[ScoredPassage(passage=passage, citation=citation, score=1.0)],
    )


def demo_pairs(runs: Sequence[tuple[str, EvidenceSet, list[tuple[str, int]]]]) -> list[Pair]:
    """Pairs from drafted bullets: (question id, evidence, [(bullet text, cited number)])."""
    pairs: list[Pair] = []
    for question_id, evidence, bullets in runs:
        by_number = evidence.by_number()
        for text, number in bullets:
            source = by_number[number].citation.id
            for item in evidence.items:
                pairs.append(Pair(question_id=question_id, claim=text, cited=item.citation.id,
                                  source=source, evidence=evidence))  # fmt: skip
    return pairs


def drafted_runs(
    questions: Sequence[EvalQuestion], settings: Settings, index: Index
) -> list[tuple[str, EvidenceSet, list[tuple[str, int]]]]:
    """The extractive drafter's bullets per question, with their evidence (for demo pairs)."""
    from pipeline.draft.engine import draft_article
    runs = []
    for question in questions:
        run = draft_article(question.question, settings=settings, index=index,
                            audience=question.audience, use_llm=False)  # fmt: skip
        bullets = [
            (bullet.text, bullet.citations[0])
            for section in run.raw_draft.sections
            for bullet in section.bullets
            if bullet.citations
        ]
        if bullets:
            runs.append((question.id, run.evidence, bullets))
    return runs


def _longest_sentence(text: str) -> str:
    sentences = [s for s in split_sentences(text) if len(words(s)) >= 6]
    return max(sentences, key=len) if sentences else ""


def bioasq_pairs(folder: Path, *, limit: int, claims_per_question: int = 3) -> list[Pair]:
    """Pairs from BioASQ dev questions and their gold snippets (see the module docstring).

    Questions with at least three gold snippets, in file order, up to ``limit``.
    """
    dev, corpus = folder / "dev_set.jsonl", folder / "snippets_corpus.jsonl"
    if not dev.is_file() or not corpus.is_file():
        raise EvalSetError(
            f"{folder} has no dev_set.jsonl and snippets_corpus.jsonl",
            "Pass --bioasq ../shared/data/bioasq (the BioASQ dev set, read in place).",
        )
    snippets: dict[str, str] = {}
    for line in corpus.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            snippets[record["id"]] = record.get("abstract") or record.get("text") or ""
    pairs: list[Pair] = []
    taken = 0
    for line in dev.read_text(encoding="utf-8").splitlines():
        if not line.strip() or taken >= limit:
            continue
        question = EvalQuestion.model_validate_json(line)
        ids = sorted(i for i in dict.fromkeys(question.relevant) if snippets.get(i))
        if len(ids) < 3:
            continue
        taken += 1
        ids = ids[:10]
        evidence = EvidenceSet(
            question=question.question,
            items=[_item(n, cid, snippets[cid]) for n, cid in enumerate(ids, start=1)],
        )
        order = random.Random(question.id).sample(ids, len(ids))
        for k, source in enumerate(order[:claims_per_question]):
            claim = _longest_sentence(snippets[source])
            if not claim:
                continue
            pairs.append(Pair(question_id=question.id, claim=claim, cited=source, source=source,
                              evidence=evidence))  # fmt: skip
            moved = order[(k + 1) % len(order)]
            if claim.lower() not in snippets[moved].lower():
                pairs.append(Pair(question_id=question.id, claim=claim, cited=moved,
                                  source=source, evidence=evidence))  # fmt: skip
    return pairs


def _score_pairs(
    pairs: Sequence[Pair], embed: Embed | None
) -> tuple[list[float], list[float], list[float]]:
    """Per pair: the cited item's support, its attribution score, the best other one's."""
    cached = embedding_once(embed) if embed is not None else None
    support: list[float] = []
    cited_scores: list[float] = []
    other_scores: list[float] = []
    for pair in pairs:
        cited = next(i for i in pair.evidence.items if i.citation.id == pair.cited)
        texts = [p.passage.text for p in cited.passages]
        others = [(i.number, i) for i in pair.evidence.items if i.citation.id != pair.cited]
        own, best = better_source(pair.claim, texts, others, margin=-2.0, embed=cached)
        support.append(support_best(pair.claim, texts, cached)[0])
        cited_scores.append(own)
        other_scores.append(best.score if best is not None else 0.0)
    return support, cited_scores, other_scores


def _rates(flags: Sequence[bool], pairs: Sequence[Pair]) -> Rates:
    wrong = [f for f, p in zip(flags, pairs, strict=True) if p.misattributed]
    right = [f for f, p in zip(flags, pairs, strict=True) if not p.misattributed]
    return Rates(
        pairs=len(pairs),
        correct=len(right),
        misattributed=len(wrong),
        detection=round(sum(wrong) / len(wrong), 4) if wrong else None,
        false_flags=round(sum(right) / len(right), 4) if right else None,
    )


def _flags(support: Sequence[float], cited: Sequence[float], other: Sequence[float],
           threshold: float, margin: float) -> list[bool]:  # fmt: skip
    return [
        s < threshold or o - c >= margin
        for s, c, o in zip(support, cited, other, strict=True)
    ]


class _Scored:
    """One set's pairs with their scores and halves (scored once, cut many ways)."""

    def __init__(self, pairs: Sequence[Pair], embed: Embed | None) -> None:
        start = time.perf_counter()
        self.pairs = list(pairs)
        self.support, self.cited, self.other = _score_pairs(pairs, embed)
        self.ms = 1000 * (time.perf_counter() - start) / len(pairs)
        halves = [_half(p.question_id) for p in pairs]
        self.tune = [i for i, h in enumerate(halves) if h == "tune"]
        self.test = [i for i, h in enumerate(halves) if h == "test"]

    def flags(self, idx: list[int], threshold: float, margin: float) -> list[bool]:
        cited, other = [self.cited[i] for i in idx], [self.other[i] for i in idx]
        return _flags([self.support[i] for i in idx], cited, other, threshold, margin)

    def rates(self, idx: list[int], threshold: float, margin: float) -> Rates:
        return _rates(self.flags(idx, threshold, margin), [self.pairs[i] for i in idx])


def _choose(sweep: list[tuple[float, float | None, float | None]]) -> float:
    allowed = [s for s in sweep if (s[2] or 0.0) <= MAX_FALSE_FLAGS]
    meeting = [s for s in allowed if (s[1] or 0.0) >= MIN_DETECTION]
    if meeting:
        return max(s[0] for s in meeting)
    return max(allowed or sweep[-1:], key=lambda s: (s[1] or 0.0, -s[0]))[0]


def evaluate_set(name: str, scored: _Scored, *, threshold: float) -> SetResult:
    """Choose the margin on the tuning half and report both halves (module docstring)."""
    sweep = [
        (m, (r := scored.rates(scored.tune, threshold, m)).detection, r.false_flags)
        for m in MARGINS
    ]
    chosen = _choose(sweep)
    pairs, test = scored.pairs, scored.test
    mistakes = [
        {"question_id": pairs[i].question_id, "claim": pairs[i].claim, "cited": pairs[i].cited,
         "source": pairs[i].source, "misattributed": pairs[i].misattributed,
         "cited_support": round(scored.support[i], 3), "cited_score": round(scored.cited[i], 3),
         "best_other": round(scored.other[i], 3)}
        for i, flag in zip(test, scored.flags(test, threshold, chosen), strict=True)
        if flag != pairs[i].misattributed
    ]  # fmt: skip
    return SetResult(
        name=name,
        questions=len({p.question_id for p in pairs}),
        margin=chosen,
        tune=scored.rates(scored.tune, threshold, chosen),
        test=scored.rates(test, threshold, chosen),
        ms_per_claim=round(scored.ms, 2),
        sweep=sweep,
        examples=mistakes[:20],
    )


def evaluate_attribution(
    sets: Sequence[tuple[str, Sequence[Pair]]],
    *,
    threshold: float,
    embed: Embed | None,
    progress: Callable[[str], None] | None = None,
) -> AttributionReport:
    """Score every named set of pairs and recommend one margin for all (module docstring)."""
    started = time.perf_counter()
    scored: list[_Scored] = []
    results: list[SetResult] = []
    for name, pairs in sets:
        if not pairs:
            raise EvalSetError(f"the {name} set has no pairs", "Check the question set and corpus.")
        if progress:
            progress(name)
        scored.append(_Scored(pairs, embed))
        results.append(evaluate_set(name, scored[-1], threshold=threshold))
    margin = min(r.margin for r in results)
    for result, data in zip(results, scored, strict=True):
        result.test_at_setting = data.rates(data.test, threshold, margin)
    return AttributionReport(
        support_threshold=threshold,
        sets=results,
        recommended_margin=margin,
        seconds=round(time.perf_counter() - started, 3),
    )
