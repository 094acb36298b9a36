"""Article evaluation: draft every question of a set and score what a reviewer would check.

Design
------
Each question goes through the real drafting stage (:func:`pipeline.draft.engine.draft_article`,
extractive or LLM) and the real renderer, and is scored from those outputs only:

* **Citation validity**: the citation markers in the rendered Markdown body (everything
  before ``## References``, read with :func:`pipeline.cite.markers.extract_markers`) that match a
  numbered reference, over all markers. Pooled over the set (micro average); it must be
  1.0 because the citation check removes every marker it cannot resolve.
* **Citation support**: the article's :class:`~pipeline.models.article.BulletCheck` flags, i.e.
  the citation check's documented lexical/embedding proxy
  (:func:`pipeline.cite.check.support_score`)
  and the claim checks of :mod:`pipeline.cite.claims`; a checked claim (a bullet, a claim
  sentence of the headline, summary or Bottom Line, a related question found wrong, a
  headline verdict that disagrees with the ``verdict`` field) is supported when it is not
  flagged (an uncited bullet is flagged). Pooled over all checked claims of the set.
* **Structure compliance**: the share of articles whose rendered Markdown has every part
  of the house format (:func:`pipeline.article.check.structure_check`). An
  abstention has no evidence to cite, so its evidence sections and Related Questions are
  "not applicable", not failures.
* **Verdict agreement** over *every* question whose set entry has a verdict: a draft that
  gives no verdict, ``uncertain``, or fails counts as wrong (left out, a drafter that
  answers two questions of four would score 1.0). ``n_verdict_given`` says how many of
  those drafts gave ``yes``/``no``/``maybe`` at all (the extractive drafter gives none).
* **Abstention**: on ``answerable: false`` questions the draft must report
  ``insufficient_evidence``; abstaining on an answerable question is a false abstention.
* **Cost**: tokens from ``article.provenance.usage`` and seconds per stage from
  ``provenance.timings_s`` (retrieve, draft, cite) plus the rendering time measured here.

Every metric says over how many items it was computed (``n_markers``, ``n_bullets``,
``n_articles``, ``n_verdict_scored``, ``n_unanswerable``, ``n_answerable``, ``n_recall``).
A drafting failure (:class:`~pipeline.errors.DraftError`, e.g. an unreachable LLM) is
recorded on its question, which then counts as non-compliant, and the run goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, ConfigDict, Field

from pipeline.article import render
from pipeline.article.check import STRUCTURE_PARTS, structure_check
from pipeline.cite.markers import extract_markers
from pipeline.draft.engine import draft_article
from pipeline.draft.llm import make_chat_model
from pipeline.errors import DraftError, EvalSetError
from pipeline.evaluate import metrics
from pipeline.evaluate.sets import EvalQuestion
from pipeline.index.hybrid import Index
from pipeline.models.article import FIELD_LABELS, Article
from pipeline.settings.load import Settings
from pipeline.settings.report import settings_hash

__all__ = [
    "STAGES",
    "ArticleMetrics",
    "ArticleReport",
    "ArticleResult",
    "FlaggedBullet",
    "StageTime",
    "TokenTotals",
    "evaluate_articles",
]

STAGES = ("retrieve", "draft", "cite", "render", "total")
"""Stages timed per question (``total`` is the whole question, rendering included)."""

ProgressFn = Callable[[int], None]


class FlaggedBullet(BaseModel):
    """A bullet the citation check flagged, for the drill-down."""

    model_config = ConfigDict(extra="forbid")

    section: str
    text: str
    numbers: list[int]
    support: float
    reason: str


class ArticleResult(BaseModel):
    """Everything measured on one question's article."""

    model_config = ConfigDict(extra="forbid")

    id: str
    question: str
    audience: str
    answerable: bool
    relevant: list[str]
    expected_verdict: str | None = None
    verdict: str | None = None
    drafter: str = ""
    insufficient_evidence: bool = False
    best_similarity: float | None = None
    retrieved: list[str] = Field(default_factory=list, description="Evidence citation ids.")
    cited: list[str] = Field(default_factory=list, description="Referenced citation ids.")
    markers: int = 0
    markers_resolved: int = 0
    bullets: int = 0
    bullets_supported: int = 0
    flagged: list[FlaggedBullet] = Field(default_factory=list)
    structure: dict[str, bool | None] = Field(default_factory=dict)
    structure_ok: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_calls: int = 0
    cost: float | None = None
    timings_s: dict[str, float] = Field(default_factory=dict)
    error: str | None = None
    article_html: str = Field("", description="Sanitized HTML fragment of the article.")


class ArticleMetrics(BaseModel):
    """Set-level article metrics (``None`` where a metric does not apply)."""

    model_config = ConfigDict(extra="forbid")

    citation_validity: float | None
    n_markers: int = Field(0, description="Citation markers citation validity is computed on.")
    citation_support: float | None
    n_bullets: int = Field(0, description="Bullets citation support is computed on.")
    structure_compliance: float
    n_articles: int = Field(0, description="Articles structure compliance is computed on.")
    verdict_agreement: float | None
    n_verdict_scored: int = Field(
        description="Questions with a gold verdict; a missing or uncertain one counts as wrong."
    )
    n_verdict_given: int = Field(0, description="Of those, drafts that gave yes/no/maybe.")
    abstention_correct: float | None
    n_unanswerable: int
    false_abstention_rate: float | None
    n_answerable: int
    evidence_recall: float | None = Field(
        description="Capped recall@retrieval.k of the drafter's evidence against gold ids."
    )
    n_recall: int = Field(0, description="Answerable questions with gold ids, drafted.")
    n_errors: int


class TokenTotals(BaseModel):
    """Tokens, calls and cost summed over the set, and tokens per article."""

    model_config = ConfigDict(extra="forbid")

    prompt_tokens: int
    completion_tokens: int
    calls: int
    cost: float | None
    tokens_per_article: float


class StageTime(BaseModel):
    """Seconds spent in one stage: total, mean, p50 and p95 over questions."""

    model_config = ConfigDict(extra="forbid")

    total: float
    mean: float
    p50: float
    p95: float


class ArticleReport(BaseModel):
    """An article evaluation; ``model_dump()`` is the JSON report."""

    model_config = ConfigDict(extra="forbid")

    kind: str = "articles"
    n_questions: int
    drafter: str
    metrics: ArticleMetrics
    structure_parts: dict[str, float | None]
    tokens: TokenTotals
    stages_s: dict[str, StageTime]
    set: str = ""
    corpus: str | None = None
    corpus_version: str = ""
    settings_hash: str = ""
    seconds: float = 0.0
    per_question: list[ArticleResult] = Field(default_factory=list)


def _score_article(result: ArticleResult, article: Article) -> None:
    markdown = render.to_markdown(article)
    result.article_html = render.to_html_fragment(article)
    numbers = {r.number for r in article.references}
    found = extract_markers(markdown.split("\n## References", 1)[0])
    result.markers = len(found)
    result.markers_resolved = sum(1 for n in found if n in numbers)
    result.bullets = len(article.checks)
    result.bullets_supported = sum(1 for c in article.checks if not c.flagged)
    sections = article.draft.sections
    result.flagged = [
        FlaggedBullet(
            section=sections[c.section].heading if c.is_bullet else FIELD_LABELS[c.field],
            text=sections[c.section].bullets[c.bullet].text if c.is_bullet else c.text,
            numbers=c.numbers,
            support=c.support,
            reason=c.reason,
        )
        for c in article.checks
        if c.flagged
    ]
    result.structure = structure_check(markdown, abstained=article.draft.insufficient_evidence)
    result.structure_ok = all(v is not False for v in result.structure.values())


def _draft_one(
    question: EvalQuestion,
    settings: Settings,
    index: Index,
    use_llm: bool,
    llm: BaseChatModel | None,
) -> ArticleResult:
    audience = question.audience or settings.draft.audience
    result = ArticleResult(
        id=question.id,
        question=question.question,
        audience=audience,
        answerable=question.answerable,
        relevant=list(question.relevant),
        expected_verdict=question.verdict,
    )
    start = time.perf_counter()
    try:
        run = draft_article(
            question.question,
            settings=settings,
            index=index,
            audience=audience,
            use_llm=use_llm,
            llm=llm,
        )
    except DraftError as exc:
        result.error = exc.message
        result.timings_s = {"total": round(time.perf_counter() - start, 4)}
        return result
    article = run.article
    render_start = time.perf_counter()
    _score_article(result, article)
    prov = article.provenance
    result.timings_s = {
        **prov.timings_s,
        "render": round(time.perf_counter() - render_start, 4),
        "total": round(time.perf_counter() - start, 4),
    }
    result.drafter = prov.drafter
    result.verdict = article.draft.verdict
    result.insufficient_evidence = article.draft.insufficient_evidence
    result.best_similarity = run.evidence.best_similarity
    result.retrieved = [item.citation.id for item in run.evidence.items]
    result.cited = [r.citation_id for r in article.references]
    result.prompt_tokens = prov.usage.prompt_tokens
    result.completion_tokens = prov.usage.completion_tokens
    result.llm_calls = prov.usage.calls
    result.cost = prov.usage.cost
    return result


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _metrics(results: list[ArticleResult], k: int) -> ArticleMetrics:
    verdicts = [r for r in results if r.expected_verdict]
    unanswerable = [r for r in results if not r.answerable]
    answerable = [r for r in results if r.answerable]
    recalls = [
        metrics.recall_at_k(r.retrieved, r.relevant, k)
        for r in answerable
        if r.relevant and r.error is None
    ]
    markers = sum(r.markers for r in results)
    bullets = sum(r.bullets for r in results)
    return ArticleMetrics(
        citation_validity=_ratio(sum(r.markers_resolved for r in results), markers),
        n_markers=markers,
        citation_support=_ratio(sum(r.bullets_supported for r in results), bullets),
        n_bullets=bullets,
        structure_compliance=sum(r.structure_ok for r in results) / len(results),
        n_articles=len(results),
        verdict_agreement=_ratio(
            sum(r.verdict == r.expected_verdict for r in verdicts), len(verdicts)
        ),
        n_verdict_scored=len(verdicts),
        n_verdict_given=sum(r.verdict in ("yes", "no", "maybe") for r in verdicts),
        abstention_correct=_ratio(
            sum(r.insufficient_evidence for r in unanswerable), len(unanswerable)
        ),
        n_unanswerable=len(unanswerable),
        false_abstention_rate=_ratio(
            sum(r.insufficient_evidence for r in answerable), len(answerable)
        ),
        n_answerable=len(answerable),
        evidence_recall=metrics.mean(recalls),
        n_recall=len(recalls),
        n_errors=sum(r.error is not None for r in results),
    )


def _stage_times(results: list[ArticleResult]) -> dict[str, StageTime]:
    out: dict[str, StageTime] = {}
    for stage in STAGES:
        values = [r.timings_s[stage] for r in results if stage in r.timings_s]
        if not values:
            continue
        out[stage] = StageTime(
            total=round(sum(values), 4),
            mean=round(sum(values) / len(values), 4),
            p50=round(metrics.percentile(values, 50) or 0.0, 4),
            p95=round(metrics.percentile(values, 95) or 0.0, 4),
        )
    return out


def _tokens(results: list[ArticleResult]) -> TokenTotals:
    costs = [r.cost for r in results if r.cost is not None]
    prompt = sum(r.prompt_tokens for r in results)
    completion = sum(r.completion_tokens for r in results)
    return TokenTotals(
        prompt_tokens=prompt,
        completion_tokens=completion,
        calls=sum(r.llm_calls for r in results),
        cost=round(sum(costs), 6) if costs else None,
        tokens_per_article=round((prompt + completion) / len(results), 2),
    )


def evaluate_articles(
    questions: Sequence[EvalQuestion],
    index: Index,
    settings: Settings,
    *,
    use_llm: bool = False,
    llm: BaseChatModel | None = None,
    set_name: str = "",
    corpus: str | None = None,
    progress: ProgressFn | None = None,
) -> ArticleReport:
    """Draft and score every question (see the module docstring for each metric)."""
    if not questions:
        raise EvalSetError("the question set is empty", "Add questions to the set.")
    started = time.perf_counter()
    want_llm = use_llm or llm is not None
    if want_llm and llm is None:
        llm = make_chat_model(settings.llm)  # fails fast (ConfigError) without an endpoint
    results: list[ArticleResult] = []
    for question in questions:
        results.append(_draft_one(question, settings, index, want_llm, llm))
        if progress:
            progress(1)
    parts: dict[str, float | None] = {}
    for part in STRUCTURE_PARTS:
        applicable = [r.structure[part] for r in results if r.structure.get(part) is not None]
        parts[part] = _ratio(sum(bool(v) for v in applicable), len(applicable))
    drafters = sorted({r.drafter for r in results if r.drafter})
    return ArticleReport(
        n_questions=len(results),
        drafter="+".join(drafters) or ("llm" if want_llm else "extractive"),
        metrics=_metrics(results, settings.retrieval.k),
        structure_parts=parts,
        tokens=_tokens(results),
        stages_s=_stage_times(results),
        set=set_name,
        corpus=corpus,
        corpus_version=index.passage_db.corpus_version(),
        settings_hash=settings_hash(settings),
        seconds=round(time.perf_counter() - started, 3),
        per_question=results,
    )
