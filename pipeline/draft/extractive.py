"""The extractive drafter: the offline default when no LLM endpoint is configured.

It fills the same :class:`~pipeline.models.article.Draft` as the LLM chain, from sentences of the
retrieved passages, deterministically (same evidence → byte-identical draft):

1. every passage is split into sentences; fragments (< 6 words), over-long sentences and
   reference-list debris (URLs, numbered entries) are dropped;
2. each sentence is scored against the question: cosine similarity of MiniLM vectors plus
   a stemmed word-overlap share (``0.75·cos + 0.25·overlap``), plus a small bonus for
   stronger evidence levels;
3. near-duplicates are removed (cosine ≥ 0.90 to an already chosen sentence);
4. sentences are grouped into sections by the kind of evidence behind them (guidelines and
   consensus; trials and systematic reviews; observational studies and case series;
   practical considerations for everything else) and each bullet cites its source number.

It never invents a verdict: the headline states the topic and that the verdict needs
editorial judgment, and the rendered article is labelled "drafted without a language model".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pipeline.index.lexical import tokenize
from pipeline.models.article import Audience, Bullet, Draft, DraftSection
from pipeline.models.corpus import EvidenceLevel, SourceKind
from pipeline.models.evidence import EvidenceSet
from pipeline.text import split_sentences, words

EmbedFn = Callable[[list[str]], np.ndarray]
SECTION_ORDER = ("guidelines", "trials", "observational", "practical")
_HEADINGS: dict[Audience, dict[str, str]] = {
    "clinician": {
        "guidelines": "Guidelines and Consensus",
        "trials": "Evidence from Trials and Systematic Reviews",
        "observational": "Observational Studies and Case Series",
        "practical": "Practical Considerations",
    },
    "patient": {
        "guidelines": "What Expert Groups Say",
        "trials": "What Treatment Studies Found",
        "observational": "What Doctors Have Observed in Patients",
        "practical": "Other Things to Know",
    },
}
_LEVEL_BONUS = {
    EvidenceLevel.GUIDELINE: 0.04,
    EvidenceLevel.SYSTEMATIC_REVIEW: 0.03,
    EvidenceLevel.RCT: 0.03,
    EvidenceLevel.OBSERVATIONAL: 0.01,
}
_LEAD = re.compile(
    r"^(is|are|does|do|did|can|could|should|would|will|was|were|has|have|what|which|when|"
    r"how|why|who|in|for)\s+((is|are|the|a|an)\s+)*",
    re.I,
)
_CUT = re.compile(r",|\s(who|which|that|after|despite|because|when|given)\s", re.I)
_DUPLICATE_COSINE = 0.90
PLACEHOLDER_FIELDS = ("headline", "summary", "bottom_line")
"""Fields of a (sufficient-evidence) extractive draft that only an editor can write."""


@dataclass
class _Sentence:
    text: str
    number: int
    group: str
    level: EvidenceLevel
    score: float = 0.0


def section_group(kind: SourceKind, level: EvidenceLevel) -> str:
    """Which article section a source's sentences belong to."""
    if level is EvidenceLevel.GUIDELINE or kind in (SourceKind.GUIDELINE, SourceKind.POLICY):
        return "guidelines"
    if level in (EvidenceLevel.RCT, EvidenceLevel.SYSTEMATIC_REVIEW):
        return "trials"
    if level in (EvidenceLevel.OBSERVATIONAL, EvidenceLevel.CASE_REPORT):
        return "observational"
    return "practical"


def question_topic(question: str, max_words: int = 14) -> str:
    """A short topic phrase: "Is IVIG necessary for X who …?" → "IVIG necessary for X"."""
    text = question.strip().rstrip("?").strip()
    text = _LEAD.sub("", text, count=1)
    match = _CUT.search(text)
    if match and len(text[: match.start()].split()) >= 4:
        text = text[: match.start()]
    tokens = text.split()
    topic = " ".join(tokens[:max_words]).strip(" ,;:")
    return topic[:1].upper() + topic[1:] if topic else "This question"


class ExtractiveDrafter:
    """Builds a Draft from retrieved sentences; the embedding model is passed in."""

    name = "extractive"

    def __init__(self, embed: EmbedFn, *, max_bullets_per_section: int = 4) -> None:
        self.embed = embed
        self.max_bullets = max_bullets_per_section

    def draft(
        self, question: str, evidence: EvidenceSet, audience: Audience = "clinician"
    ) -> Draft:
        """The article for ``question`` from ``evidence`` (see the module docstring)."""
        return self.draft_with_placeholders(question, evidence, audience)[0]

    def draft_with_placeholders(
        self, question: str, evidence: EvidenceSet, audience: Audience = "clinician"
    ) -> tuple[Draft, dict[str, str]]:
        """The draft and the fields it could only fill with a placeholder (name → text).

        The verdict headline, the summary's call for a verdict and the Bottom Line need an
        editor's judgment; they are recorded so the publish gate holds them back until an
        editor has rewritten them (:mod:`pipeline.review.gate`).
        """
        draft = self._draft(question, evidence, audience)
        if draft.insufficient_evidence:
            return draft, {}
        return draft, {name: getattr(draft, name) for name in PLACEHOLDER_FIELDS}

    def _draft(self, question: str, evidence: EvidenceSet, audience: Audience) -> Draft:
        topic = question_topic(question)
        if not evidence.sufficient or not evidence.items:
            return self._insufficient(question, topic, evidence)
        sentences = self._candidates(evidence)
        if not sentences:
            return self._insufficient(question, topic, evidence)
        self._score(question, sentences)
        chosen = self._select(sentences)
        sections = []
        for group in SECTION_ORDER:
            members = [s for s in chosen if s.group == group]
            if members:
                sections.append(
                    DraftSection(
                        heading=_HEADINGS[audience][group],
                        bullets=[Bullet(text=s.text, citations=[s.number]) for s in members],
                    )
                )
        levels = sorted({s.level for s in chosen}, key=lambda lv: lv.rank)
        cited = sorted({s.number for s in chosen})
        strongest = levels[0].label.lower() if levels else "other evidence"
        summary = (
            f"This draft gathers {len(cited)} of the {len(evidence.items)} retrieved sources on "
            f"{_lower_first(topic)}; the strongest evidence found is {strongest}. "
            "Each bullet below is a sentence taken from a cited source, ranked by its relevance "
            "to the question; an editor must weigh them and write the verdict."
        )
        if audience == "patient":
            summary += " Talk with your doctor about what this means for you."
        bottom = (
            "The retrieved sources bear on this question, but this draft was assembled without a "
            "language model and does not state a verdict. Before publication a reviewer must "
            f"decide the answer from the cited evidence (strongest level: {strongest})."
        )
        return Draft(
            headline=f"{topic}: Evidence Summary — Verdict Requires Editorial Judgment",
            summary=summary,
            sections=sections,
            bottom_line=bottom,
            related_questions=self._related(evidence),
            insufficient_evidence=False,
            verdict=None,
        )

    def _candidates(self, evidence: EvidenceSet) -> list[_Sentence]:
        found: list[_Sentence] = []
        seen: set[str] = set()
        for item in evidence.items:
            level = item.citation.evidence_level or EvidenceLevel.OTHER
            group = section_group(item.citation.source_kind, level)
            for scored in item.passages:
                for sentence in split_sentences(scored.passage.text):
                    clean = sentence.strip()
                    key = clean.lower()
                    if key in seen or not _usable(clean):
                        continue
                    seen.add(key)
                    found.append(_Sentence(clean, item.number, group, level))
        return found

    def _score(self, question: str, sentences: list[_Sentence]) -> None:
        vectors = self.embed([question] + [s.text for s in sentences])
        query, rest = vectors[0], vectors[1:]
        q_terms = set(tokenize([question], "english")[0])
        s_terms = tokenize([s.text for s in sentences], "english")
        for sentence, vector, terms in zip(sentences, rest, s_terms, strict=True):
            overlap = len(q_terms & set(terms)) / max(len(q_terms), 1)
            sentence.score = (
                0.75 * float(vector @ query)
                + 0.25 * overlap
                + _LEVEL_BONUS.get(sentence.level, 0.0)
            )
        self._vectors = {id(s): v for s, v in zip(sentences, rest, strict=True)}

    def _select(self, sentences: list[_Sentence]) -> list[_Sentence]:
        ranked = sorted(sentences, key=lambda s: (-round(s.score, 6), s.number, s.text))
        chosen: list[_Sentence] = []
        per_group: dict[str, int] = {}
        for sentence in ranked:
            if per_group.get(sentence.group, 0) >= self.max_bullets:
                continue
            vector = self._vectors[id(sentence)]
            if any(float(vector @ self._vectors[id(c)]) >= _DUPLICATE_COSINE for c in chosen):
                continue
            chosen.append(sentence)
            per_group[sentence.group] = per_group.get(sentence.group, 0) + 1
        return chosen

    @staticmethod
    def _related(evidence: EvidenceSet) -> list[str]:
        questions = []
        for item in evidence.items:
            title = item.citation.title.strip().rstrip(".")
            if title:
                questions.append(f"What does the evidence in “{title}” show?")
            if len(questions) == 4:
                break
        return questions

    @staticmethod
    def _insufficient(question: str, topic: str, evidence: EvidenceSet) -> Draft:
        return Draft(
            headline=f"Insufficient Evidence in the Corpus: {topic}",
            summary=(
                "No source in the indexed corpus was relevant enough to answer this question, "
                "so this draft makes no clinical claim and cites nothing."
            ),
            sections=[],
            bottom_line=(
                "The corpus does not contain evidence that answers this question. Add relevant "
                "guidelines or studies to the corpus, or refer the question to a specialist "
                "reviewer."
            ),
            related_questions=[],
            insufficient_evidence=True,
            verdict=None,
        )


def _lower_first(text: str) -> str:
    """Lower-case the first letter unless the first word is an acronym ("IVIG")."""
    first = text.split(" ", 1)[0]
    return text if first.isupper() or len(first) < 2 else text[:1].lower() + text[1:]


def _usable(sentence: str) -> bool:
    tokens = words(sentence)
    if len(tokens) < 6 or len(sentence) > 600:
        return False
    if sentence.count("http") or re.match(r"^\(?\d+\)?\s", sentence):
        return False
    return sentence[-1] in ".!?)\"'”"
