"""Evidence levels: how strong a source's study design is (DESIGN §3 "Evidence levels").

The level is read from three signals, most trusted first:

1. ``source_kind``: guideline and policy documents are :attr:`EvidenceLevel.GUIDELINE`
   whatever else they say.
2. ``publication_types``: PubMed/MeSH publication types (also RIS ``M3``, CSL ``genre``,
   JATS ``article-type``). When several map to a level, the strongest wins, so an NEJM
   trial tagged "Randomized Controlled Trial" + "Multicenter Study" is an RCT.
3. Title keywords, only when no publication type was informative. Indexers tag designs
   more reliably than titles describe them, and a title such as "Guideline adherence in a
   cohort" must not outrank its own design.

Anything else (narrative reviews, editorials, letters, unlabeled pages) is
:attr:`EvidenceLevel.OTHER`.
"""

from __future__ import annotations

import re

from pipeline.models.corpus import Citation, EvidenceLevel, SourceKind

# Publication-type names are compared lower-cased with runs of non-letters collapsed, so
# "Randomized Controlled Trial, Veterinary" and "randomized-controlled-trial" both match.
_TYPE_LEVELS: dict[str, EvidenceLevel] = {
    "practice guideline": EvidenceLevel.GUIDELINE,
    "guideline": EvidenceLevel.GUIDELINE,
    "consensus development conference": EvidenceLevel.GUIDELINE,
    "consensus development conference nih": EvidenceLevel.GUIDELINE,
    "consensus statement": EvidenceLevel.GUIDELINE,
    "position statement": EvidenceLevel.GUIDELINE,
    "systematic review": EvidenceLevel.SYSTEMATIC_REVIEW,
    "meta analysis": EvidenceLevel.SYSTEMATIC_REVIEW,
    "network meta analysis": EvidenceLevel.SYSTEMATIC_REVIEW,
    "randomized controlled trial": EvidenceLevel.RCT,
    "randomized controlled trial veterinary": EvidenceLevel.RCT,
    "randomised controlled trial": EvidenceLevel.RCT,
    # Trials without randomisation are comparative designs: ranked with cohorts.
    "controlled clinical trial": EvidenceLevel.OBSERVATIONAL,
    "clinical trial": EvidenceLevel.OBSERVATIONAL,
    "clinical trial phase i": EvidenceLevel.OBSERVATIONAL,
    "clinical trial phase ii": EvidenceLevel.OBSERVATIONAL,
    "clinical trial phase iii": EvidenceLevel.OBSERVATIONAL,
    "clinical trial phase iv": EvidenceLevel.OBSERVATIONAL,
    "pragmatic clinical trial": EvidenceLevel.OBSERVATIONAL,
    "equivalence trial": EvidenceLevel.OBSERVATIONAL,
    "observational study": EvidenceLevel.OBSERVATIONAL,
    "observational study veterinary": EvidenceLevel.OBSERVATIONAL,
    "comparative study": EvidenceLevel.OBSERVATIONAL,
    "multicenter study": EvidenceLevel.OBSERVATIONAL,
    "cohort study": EvidenceLevel.OBSERVATIONAL,
    "cohort studies": EvidenceLevel.OBSERVATIONAL,
    "case control study": EvidenceLevel.OBSERVATIONAL,
    "case control studies": EvidenceLevel.OBSERVATIONAL,
    "twin study": EvidenceLevel.OBSERVATIONAL,
    "case reports": EvidenceLevel.CASE_REPORT,
    "case report": EvidenceLevel.CASE_REPORT,
    "case series": EvidenceLevel.CASE_REPORT,
}

# Title patterns, strongest level first; used only when publication types say nothing.
_TITLE_PATTERNS: list[tuple[re.Pattern[str], EvidenceLevel]] = [
    (
        re.compile(
            r"\b(practice guidelines?|clinical guidelines?|consensus (statement|guidelines?|"
            r"recommendations?|conference)|position statement|guidelines? for|guidance for)\b"
        ),
        EvidenceLevel.GUIDELINE,
    ),
    (
        re.compile(r"\b(systematic (literature )?review|meta[- ]analys[ie]s|umbrella review)\b"),
        EvidenceLevel.SYSTEMATIC_REVIEW,
    ),
    (
        re.compile(r"\b(randomi[sz]ed|placebo[- ]controlled)\b.{0,60}\btrial\b"),
        EvidenceLevel.RCT,
    ),
    (
        re.compile(
            r"\b(cohort|case[- ]control|observational|cross[- ]sectional|retrospective|"
            r"prospective|registry|population[- ]based|comparative)\b"
        ),
        EvidenceLevel.OBSERVATIONAL,
    ),
    (
        re.compile(r"\b(case reports?|case series|a case of|report of (a|two|three) cases?)\b"),
        EvidenceLevel.CASE_REPORT,
    ),
]


def _norm(value: str) -> str:
    return re.sub(r"[^a-z]+", " ", value.lower()).strip()


def level_for_publication_type(publication_type: str) -> EvidenceLevel | None:
    """The level one publication type implies, or ``None`` when it says nothing."""
    return _TYPE_LEVELS.get(_norm(publication_type))


def level_from_title(title: str) -> EvidenceLevel | None:
    """The strongest level a title's wording implies, or ``None``."""
    text = title.lower()
    for pattern, level in _TITLE_PATTERNS:
        if pattern.search(text):
            return level
    return None


def evidence_level(citation: Citation) -> EvidenceLevel:
    """Derive a citation's evidence level from source kind, publication types and title."""
    if citation.source_kind in (SourceKind.GUIDELINE, SourceKind.POLICY):
        return EvidenceLevel.GUIDELINE
    from_types = [
        level
        for level in map(level_for_publication_type, citation.publication_types)
        if level is not None
    ]
    if from_types:
        return min(from_types, key=lambda level: level.rank)
    return level_from_title(citation.title) or EvidenceLevel.OTHER
