"""Claim checks on every field of a checked draft, and misattributed citations.

:func:`pipeline.cite.check.check_citations` scores each cited bullet against the passages it
cites. That is not enough against a real model (issue 15): a small model writes its claims
into the summary and the Bottom Line, where nothing is cited; it states a verdict in the
headline that the ``verdict`` field contradicts; and it cites a source next to the one it
copied from. :func:`article_checks` turns a :class:`~pipeline.cite.check.CitationCheck` into
the article's :class:`~pipeline.models.article.BulletCheck` list, one entry per finding:

* **Bullets** keep their support score (``field="bullet"``); a bullet another retrieved
  source supports better is flagged "better supported by [k]"
  (:mod:`pipeline.cite.attribution`).
* **Summary and Bottom Line** are split into sentences. A sentence's *claim terms* are its
  content terms minus the question's own terms and the article's editorial vocabulary
  (:data:`EDITORIAL_TERMS`: "draft", "source", "reviewer" …): a sentence that only restates
  the question or describes the draft makes no clinical claim and is not scored. The others
  must be supported by the article's cited evidence (passages, titles, publication types
  and evidence levels of the referenced sources): the share of claim terms found there, or
  the cosine to the best cited sentence when an embedding is given, must reach the
  threshold. With nothing cited every claim sentence is flagged. Because a cosine rewards
  a sentence on the right topic however wrong its facts, a sentence is also flagged when a
  *specific* it states is absent from the cited evidence: a number (unless it counts
  sources: "7 of the 8 retrieved sources") or a study design (:data:`DESIGN_TERMS`: "a
  randomized controlled trial" invented for a case series).
* **Headline**: scored like a sentence, and its implied verdict must agree with the
  ``verdict`` field (:func:`headline_verdicts`). A yes/no question needs a yes/no/maybe
  verdict once the headline states one; a question that is not yes/no
  (:func:`is_yes_no_question`) must not get ``yes``/``no``/``maybe``. A headline of fewer
  than three words states no answer and is flagged.
* **Related questions** must be questions and carry no clinical claim: a statement before
  the question, a dose or a percentage, or a premise ("since …", "given that …") is flagged.

These are proxies a reviewer acts on, not entailment; ``pipeline/evaluate/attribution.py``
measures the misattribution check on real evidence.
"""

from __future__ import annotations

import re

import numpy as np

from pipeline.cite.attribution import flag_misattributed, item_texts
from pipeline.cite.check import CitationCheck, Embed, content_terms, embedding_once, term_set
from pipeline.models.article import BulletCheck, ClaimField, Draft, Verdict
from pipeline.models.evidence import EvidenceSet
from pipeline.text import is_yes_no_question, split_sentences, words

__all__ = [
    "EDITORIAL_TERMS",
    "article_checks",
    "headline_verdicts",
    "is_yes_no_question",
    "prose_checks",
]

EDITORIAL_TERMS = content_terms(
    "draft drafted gathers gathered retrieved sources source cited cites cite citation bullet "
    "bullets below above evidence strongest found level editor editorial reviewer review "
    "verdict judgment requires require summary publication published assembled language "
    "model question answer answers ranked relevance relevant weigh write decide decision bear "
    "bears state states sentence taken indexed corpus enough claim clinical add refer "
    "specialist talk doctor means article insufficient makes nothing make given shows show "
    "what does contain contains guidelines studies study"
)
"""Words about the article and how it was made, not about medicine: never claim terms."""

_EDITORIAL_WORDS = frozenset(
    ("draft", "drafted", "gathers", "retrieved", "sources", "source", "cited", "references")
)
"""Words after a number that make it a count of sources, not a clinical figure."""

DESIGN_TERMS = content_terms(
    "randomized randomised controlled placebo double-blind blinded trial meta-analysis "
    "systematic cohort case-control crossover prospective retrospective"
)
"""Study-design words: a prose sentence may state them only when the cited evidence does."""

_NEGATIVE = re.compile(
    r"\b(not|no|never|none|cannot|can't|isn't|aren't|doesn't|don't|didn't|won't|"
    r"unnecessary|ineffective|unsafe|lacks?|fails?|failed|contraindicated)\b",
    re.I,
)
_HEDGE = re.compile(
    r"\b(may|might|possibly|uncertain|unclear|unknown|limited|inconclusive|mixed|maybe|"
    r"insufficient|some|conflicting|unproven|could)\b",
    re.I,
)
_POSITIVE = re.compile(
    r"\b(yes|effective|recommended|necessary|beneficial|improves?|improved|reduces?|reduced|"
    r"safe|works?|helps?|supported|appropriate|indicated|justified|warranted)\b",
    re.I,
)
_DOSE = re.compile(
    r"\d+(?:\.\d+)?\s*(?:mg|g|mcg|µg|ug|ml|l|kg|iu|units?|%|percent|mmol|days?|weeks?|months?)\b",
    re.I,
)
_PREMISE = re.compile(
    r"^\s*(since|because|given that|as)\b|\b(proven|shown|known) (to|that)\b", re.I
)


def headline_verdicts(headline: str, question: str = "") -> frozenset[Verdict | None] | None:
    """The verdicts a headline allows, or ``None`` when it implies none.

    A negation allows ``no``; a hedge allows ``maybe``/``uncertain``/none (and ``no`` or
    ``yes`` when it is also negative or positive); a positive word alone allows ``yes``.
    Words the headline repeats from ``question`` imply nothing ("IVIG necessary for …:
    verdict requires editorial judgment" restates the question, it does not answer it).
    """
    asked = set(words(question))
    headline = " ".join(w for w in words(headline) if w not in asked)
    negative = bool(_NEGATIVE.search(headline))
    hedge = bool(_HEDGE.search(headline))
    positive = bool(_POSITIVE.search(headline)) and not negative
    if hedge:
        allowed: set[Verdict | None] = {"maybe", "uncertain", None}
        allowed |= {"no"} if negative else set()
        allowed |= {"yes"} if positive else set()
        return frozenset(allowed)
    if negative:
        return frozenset({"no"})
    if positive:
        return frozenset({"yes"})
    return None


def _cited_texts(evidence: EvidenceSet, cited_ids: set[str]) -> list[str]:
    texts: list[str] = []
    for item in evidence.items:
        if item.citation.id in cited_ids:
            citation = item.citation
            level = citation.evidence_level.label if citation.evidence_level else ""
            meta = ". ".join(x for x in (citation.title, level, *citation.publication_types) if x)
            texts += [meta, *item_texts(item)]
    return texts


def _specifics(sentence: str) -> set[str]:
    """The numbers and study-design terms a sentence states (see the module docstring)."""
    tokens = [t for w in words(sentence) for t in re.split(r"[-'/]", w) if t]
    found: set[str] = set()
    for i, token in enumerate(tokens):
        if not token.isdigit():
            continue
        following = [t for t in tokens[i + 1 :] if not t.isdigit() and t not in ("of", "the")]
        if not following or following[0] not in _EDITORIAL_WORDS:
            found.add(token)
    return found | (content_terms(sentence) & DESIGN_TERMS)


def _prose_score(
    sentence: str, question_terms: frozenset[str], cited: list[str], embed: Embed | None
) -> tuple[float, list[str]] | None:
    """The sentence's support and the specifics missing from ``cited`` (None: no claim)."""
    claim = term_set(sentence) - question_terms - EDITORIAL_TERMS
    if not claim:
        return None
    if not cited:
        return 0.0, []
    found = frozenset[str]().union(*(term_set(t) for t in cited))
    cited_words = {t for text in cited for w in words(text) for t in re.split(r"[-'/]", w)}
    missing = sorted(
        x for x in _specifics(sentence) if x not in found and x not in cited_words
    )
    score = len(claim & found) / len(claim)
    if embed is not None:
        sentences = [s for t in cited for s in split_sentences(t)]
        if sentences:
            vectors = embed([sentence, *sentences])
            score = max(score, float(np.clip(vectors[1:] @ vectors[0], 0.0, 1.0).max()))
    return score, missing


_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")


def _related_problem(question: str) -> str:
    text = _QUOTED.sub("the source", question.strip())  # a quoted title names a source
    if not text.endswith("?"):
        return "not a question"
    if len(split_sentences(text)) > 1:
        return "states a claim before the question"
    if _DOSE.search(text):
        return "carries a dose or figure"
    if _PREMISE.search(text):
        return "carries a clinical premise"
    return ""


def prose_checks(
    draft: Draft,
    question: str,
    cited: list[str],
    *,
    threshold: float,
    embed: Embed | None = None,
) -> list[BulletCheck]:
    """Checks of the headline, summary, Bottom Line and related questions (module docstring).

    ``cited`` holds the texts of the article's cited evidence. Only findings and scored
    sentences are returned; a sentence that makes no claim gets no entry.
    """
    question_terms = term_set(question)
    checks: list[BulletCheck] = []

    def score(field: ClaimField, index: int, sentence: str) -> None:
        scored = _prose_score(sentence, question_terms, cited, embed)
        if scored is None:
            return
        value, missing = scored
        flagged = value < threshold or bool(missing)
        reason = ""
        if not cited:
            reason = "no cited source supports it"
        elif value < threshold:
            reason = f"support {value:.2f} below {threshold:.2f}"
        elif missing:
            reason = f"states {', '.join(missing)}, which no cited source states"
        checks.append(
            BulletCheck(
                field=field,
                sentence=index,
                text=sentence,
                support=round(value, 3),
                flagged=flagged,
                reason=reason,
            )
        )

    score("headline", 0, draft.headline)
    for field, text in (("summary", draft.summary), ("bottom_line", draft.bottom_line)):
        for i, sentence in enumerate(split_sentences(text)):
            score(field, i, sentence)  # type: ignore[arg-type]
    verdict_problem = _verdict_problem(draft, question)
    if verdict_problem:
        checks.append(
            BulletCheck(
                field="headline", sentence=0, text=draft.headline, flagged=True,
                reason=verdict_problem,
            )
        )
    for i, related in enumerate(draft.related_questions):
        problem = _related_problem(related)
        if problem:
            reason = f"related question {problem}"
            checks.append(
                BulletCheck(field="related", sentence=i, text=related, flagged=True, reason=reason)
            )
    return checks


def _verdict_problem(draft: Draft, question: str) -> str:
    verdict = draft.verdict
    if len(words(draft.headline)) < 3:
        return "the headline states no answer"
    if not is_yes_no_question(question):
        if verdict in ("yes", "no", "maybe"):
            return f'verdict "{verdict}" on a question that is not a yes/no question'
        return ""
    allowed = headline_verdicts(draft.headline, question)
    if allowed is not None and verdict not in allowed:
        implied = "/".join(sorted(v for v in allowed if v))
        return f'the headline says "{implied}" but the verdict is "{verdict or "none"}"'
    return ""


def bullet_checks(check: CitationCheck, threshold: float) -> list[BulletCheck]:
    """One check per bullet, in article order: its support score (flagged under
    ``threshold``), and every uncited bullet flagged. :func:`article_checks` adds
    misattribution and the other fields' claims (what drafting and editing store)."""
    checks = [
        BulletCheck(
            section=s.section_index,
            bullet=s.bullet_index,
            numbers=s.numbers,
            support=round(s.score, 3),
            flagged=s.flagged,
            reason=f"support {s.score:.2f} below {threshold:.2f}" if s.flagged else "",
            passage_ids=[s.best_passage_id] if s.best_passage_id else [],
        )
        for s in check.bullet_support
    ]
    checks.extend(
        BulletCheck(
            section=u.section_index, bullet=u.bullet_index, flagged=True, reason="no citation"
        )
        for u in check.uncited_bullets
    )
    return sorted(checks, key=lambda c: (c.section, c.bullet))


def article_checks(
    check: CitationCheck,
    evidence: EvidenceSet,
    *,
    support_threshold: float,
    margin: float,
    embed: Embed | None = None,
) -> list[BulletCheck]:
    """Every finding on a checked draft: bullets (with misattribution) and prose fields.

    ``evidence`` is the set the citation check ran against (all retrieved sources);
    ``margin`` is how much better an uncited source must support a bullet to flag it.
    """
    cached = embedding_once(embed) if embed is not None else None
    checks = bullet_checks(check, support_threshold)
    flag_misattributed(checks, check, evidence, margin=margin, embed=cached)
    cited = _cited_texts(evidence, {r.citation_id for r in check.references})
    return checks + prose_checks(
        check.draft, evidence.question, cited, threshold=support_threshold, embed=cached
    )
