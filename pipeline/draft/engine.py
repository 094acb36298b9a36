"""The drafting engine: question → evidence → Draft → citation check → Article, one run.

:func:`draft_article` wires the stages (retrieve → draft → cite) and returns a
:class:`DraftRun` holding every intermediate result; :func:`save_run` writes them under
``outputs/drafts/<slug>/`` (``evidence.json``, ``draft.json``, ``article.md``,
``article.html``, ``article.json``) so a batch can redo just one stage. The drafter is the
LLM chain when an endpoint is configured (or a chat model is passed in) and the
extractive drafter otherwise; both feed the same citation check and renderer.

Why one module wires every stage and saves their outputs: each stage has its own module
(:mod:`pipeline.retrieve`, :mod:`pipeline.draft.chain` / :mod:`pipeline.draft.extractive`,
:mod:`pipeline.cite`) with typed input and output, and the CLI, the desk, ``press build``,
follow-ups and the evaluation harness all draft through :func:`draft_article`, so a run
means the same thing (same embedding cache, same abstention and failure rules, same
provenance) wherever it starts.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np
from langchain_core.language_models import BaseChatModel

from pipeline import atomic
from pipeline.article import render
from pipeline.cite import check as cite
from pipeline.cite import claims
from pipeline.draft.chain import LLMDrafter
from pipeline.draft.extractive import ExtractiveDrafter
from pipeline.draft.llm import make_chat_model
from pipeline.draft.structured import ModeMemory, has_cited_bullet
from pipeline.draft.transport import Progress
from pipeline.errors import DraftFailed, InputError
from pipeline.index.embeddings import embedding_name
from pipeline.index.hybrid import Index
from pipeline.models.article import Article, Audience, Draft, Provenance, Usage
from pipeline.models.evidence import EvidenceSet, SearchFilters
from pipeline.retrieve.retriever import HybridRetriever
from pipeline.settings.load import Settings
from pipeline.settings.report import settings_hash
from pipeline.text import is_yes_no_question


class MemoEmbed:
    """Wraps an embedding function with a per-run cache keyed by text."""

    def __init__(self, embed: Callable[[list[str]], np.ndarray]) -> None:
        self._embed = embed
        self._cache: dict[str, np.ndarray] = {}

    def __call__(self, texts: list[str]) -> np.ndarray:
        """Vectors for ``texts``, computing only those not seen before in this run."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, vector in zip(missing, self._embed(missing), strict=True):
                self._cache[text] = vector
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.vstack([self._cache[t] for t in texts])


Stage = Literal["retrieve", "draft", "cite"]
"""The stages of :func:`draft_article`, in order (reported through ``on_stage``)."""


@dataclass
class DraftRun:
    """Everything one drafting run produced, stage by stage."""

    evidence: EvidenceSet
    raw_draft: Draft
    article: Article


def slugify(question: str, audience: Audience = "clinician", max_words: int = 10) -> str:
    """A readable, filesystem-safe slug: the question's first words plus the audience."""
    tokens = re.findall(r"[a-z0-9]+", question.lower())[:max_words]
    base = "-".join(tokens) or "question"
    return base if audience == "clinician" else f"{base}-{audience}"


def draft_article(
    question: str,
    *,
    settings: Settings,
    index: Index,
    audience: Audience | None = None,
    use_llm: bool | None = None,
    llm: BaseChatModel | None = None,
    filters: SearchFilters | None = None,
    k: int | None = None,
    hint_ids: Sequence[str] = (),
    retrieval_context: str | None = None,
    on_stage: Callable[[Stage], None] | None = None,
    on_progress: Progress | None = None,
) -> DraftRun:
    """Retrieve, draft and check one article (see the module docstring).

    ``hint_ids`` are passages retrieval considers besides its own candidates, scored for
    this question like any other (a follow-up passes its parent article's evidence).
    ``retrieval_context`` (a follow-up's parent question) is appended to the question for
    retrieval only: a terse follow-up ("Are there alternatives?") says little on its own.
    The article still answers ``question``. ``on_stage`` hears each stage as it starts
    (``retrieve``, ``draft``, ``cite``), e.g. for a progress display; ``on_progress``
    hears a streamed reply grow.

    A reply that still misses the house format after its repair round gives an article
    whose ``failure`` lists the violations (stored as *failed — needs redraft*); an LLM
    answer left with no cited bullet after the citation check is an abstention.
    """
    stage = on_stage or (lambda _stage: None)
    if not question.strip():
        raise InputError("The question is empty", "Pass the clinical question in quotes.")
    audience = audience or settings.draft.audience
    timings: dict[str, float] = {}
    stage("retrieve")
    start = time.perf_counter()
    retriever = HybridRetriever(index=index, settings=settings.retrieval)
    query = f"{question} {retrieval_context}" if retrieval_context else question
    evidence = retriever.evidence(query, k=k, filters=filters, hint_ids=hint_ids)
    if retrieval_context:
        evidence = evidence.model_copy(update={"question": question})
    timings["retrieve"] = round(time.perf_counter() - start, 4)

    # The drafter and the citation check embed largely the same sentences: embed each once.
    embed = MemoEmbed(index.embed)
    want_llm = (llm is not None or settings.llm_configured) if use_llm is None else use_llm
    usage = Usage()
    failure: list[str] = []
    stage("draft")
    start = time.perf_counter()
    if want_llm:
        chat = llm or make_chat_model(settings.llm)  # provider=local starts its server here
        if llm is None and settings.llm.provider == "local":
            timings["model_start"] = round(time.perf_counter() - start, 4)
            start = time.perf_counter()
        drafter = LLMDrafter(
            chat,
            settings.llm,
            prompts_dir=settings.prompts.dir,
            memory=ModeMemory(settings.home / "llm_modes.json"),
            on_progress=on_progress,
        )
        try:
            raw, usage = drafter.draft(question, evidence, audience)
        except DraftFailed as error:
            failure = error.violations
            raw = error.draft if isinstance(error.draft, Draft) else failed_draft(failure)
            usage = error.usage if isinstance(error.usage, Usage) else usage
        provenance = Provenance(
            drafter="llm",
            model=getattr(chat, "model_name", None) or settings.llm.model,
            prompt_versions=drafter.prompt_versions,
            prompts_dir=drafter.prompts_source,
        )
    else:
        extractive = ExtractiveDrafter(
            embed, max_bullets_per_section=settings.draft.max_bullets_per_section
        )
        raw, placeholders = extractive.draft_with_placeholders(question, evidence, audience)
        provenance = Provenance(drafter="extractive", placeholders=placeholders)
    timings["draft"] = round(time.perf_counter() - start, 4)

    stage("cite")
    start = time.perf_counter()
    check = cite.check_citations(
        raw,
        evidence,
        support_threshold=settings.draft.support_threshold,
        embed=embed,
    )
    checks = claims.article_checks(
        check,
        evidence,
        support_threshold=settings.draft.support_threshold,
        margin=settings.draft.misattribution_margin,
        embed=embed,
    )
    timings["cite"] = round(time.perf_counter() - start, 4)
    checked = check.draft
    if want_llm and not failure and not has_cited_bullet(checked):
        checked = abstention(question, checked)  # no cited bullet: not an article
    provenance.corpus_version = evidence.corpus_version
    provenance.settings_hash = settings_hash(settings)
    provenance.embedding_model = embedding_name(index.embeddings)
    provenance.created_at = datetime.now(UTC).isoformat(timespec="seconds")
    provenance.usage = usage
    provenance.timings_s = timings
    article = Article(
        slug=slugify(question, audience),
        question=question,
        audience=audience,
        draft=checked,
        references=check.references,
        checks=checks,
        removed_markers=check.removed_markers,
        status="failed" if failure else "draft",
        last_updated=datetime.now(UTC).date().isoformat(),
        provenance=provenance,
        failure=failure,
    )
    return DraftRun(evidence=evidence, raw_draft=raw, article=article)


def failed_draft(violations: list[str]) -> Draft:
    """What a failed revision shows when no reply parsed at all."""
    return Draft(
        headline="Drafting Failed — Needs Redraft",
        summary="The language model's reply could not be used as an article: "
        + "; ".join(violations),
        sections=[],
        bottom_line="Redraft this question (another model, or the extractive drafter) "
        "or write the article by hand; nothing here is a clinical claim.",
        related_questions=[],
        insufficient_evidence=True,
        verdict=None,
    )


def abstention(question: str, draft: Draft) -> Draft:
    """An LLM answer with no cited bullet, as the abstention it is.

    Its summary and bottom line would be uncited claims, so they are replaced; the
    related questions (questions, not claims) are kept.
    """
    return Draft(
        headline="Insufficient Evidence to Answer This Question",
        summary="The drafting model cited none of the retrieved evidence, so this draft "
        "makes no clinical claim.",
        sections=[],
        bottom_line="The indexed evidence did not support an answer. Add relevant guidelines "
        "or studies to the corpus, or refer the question to a specialist reviewer.",
        related_questions=draft.related_questions,
        insufficient_evidence=True,
        verdict="uncertain" if is_yes_no_question(question) else None,
    )


def save_run(run: DraftRun, outputs: Path) -> Path:
    """Write every stage's output under ``outputs/drafts/<slug>/``; returns that folder."""
    folder = outputs / "drafts" / run.article.slug
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "evidence.json": run.evidence.model_dump_json(indent=2),
        "draft.json": json.dumps(
            {
                "raw": run.raw_draft.model_dump(mode="json"),
                "checked": run.article.draft.model_dump(mode="json"),
            },
            indent=2,
        ),
        "article.md": render.to_markdown(run.article),
        "article.html": render.to_html(run.article),
        "article.json": render.to_json(run.article),
    }
    for name, content in files.items():
        atomic.write_text(folder / name, content)
    return folder
