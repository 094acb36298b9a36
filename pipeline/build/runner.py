"""The build: plan every question by its cache key, draft what changed, commit as it goes.

Flow of :func:`run_build`:

1. **Plan** (no retrieval, no LLM): the build inputs (corpus version, prompt versions,
   model, drafter, settings hash) are computed once; each question's key is compared with
   its article's current revision (:mod:`pipeline.build.cache`) → new / changed / unchanged;
   a changed question whose article is in review is *held* (not drafted, not an error)
   unless ``force``.
   ``dry_run`` stops here; ``force`` marks every question changed.
2. **Draft** the new and changed questions on a thread pool (``concurrency`` workers). LLM
   requests share one request limiter and one token budget (:mod:`pipeline.build.ratelimit`);
   429s are retried with backoff by the openai SDK.
3. **Commit** each result in the main thread as soon as its worker finishes: the revision is
   stored and submitted for review by the manifest's author. A killed build therefore loses
   only the questions in flight; the next run finds the finished ones unchanged.
   A re-draft identical to the current text stores nothing; when that text is the approved
   one and the manifest sets ``republish_unchanged``, it becomes a publish candidate.
4. **Eval** (manifest ``eval``, only when something was drafted): the articles eval set is
   scored and compared with the baseline; a regression blocks publishing.
5. **Publish** the candidates as the manifest's publisher and rebuild the site.

Nothing here publishes a revision no reviewer approved: publishing goes through
:meth:`~pipeline.review.workflow.Workflow.publish`, whose guard requires a matching approval.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel

from pipeline.build.cache import BuildInputs, CacheKey, differences
from pipeline.build.manifest import BuildQuestion, Manifest
from pipeline.build.ratelimit import TokenBudget, request_limiter
from pipeline.build.report import BuildReport, EvalOutcome, QuestionRow
from pipeline.build.shard import Shard, select
from pipeline.draft.chain import LLMDrafter
from pipeline.draft.engine import DraftRun, draft_article, save_run
from pipeline.draft.llm import make_chat_model
from pipeline.errors import ConfigError, NotFoundError, PressError, ReviewError
from pipeline.index.hybrid import Index
from pipeline.publish.rebuild import rebuild_site
from pipeline.review.drafts import store_run
from pipeline.review.machine import Role, S
from pipeline.review.workflow import Workflow
from pipeline.settings.load import Settings, load_preset
from pipeline.settings.report import settings_hash
from pipeline.store.build_state import confirm_key, confirmed_key
from pipeline.store.db import Store

EventFn = Callable[..., None]


def _no_event(event: str, **data: Any) -> None:
    """Default event sink: ignore."""


@dataclass
class BuildOptions:
    """Command-line choices for one build."""

    shard: Shard | None = None
    concurrency: int | None = None
    dry_run: bool = False
    force: bool = False


@dataclass
class _Planned:
    question: BuildQuestion
    key: CacheKey
    row: QuestionRow


def manifest_settings(manifest: Manifest, **overrides: Any) -> Settings:
    """Settings for the build: the manifest's preset file, then its inline overrides, on top
    of press.toml and PRESS_* variables (``overrides``, e.g. from flags, win over both)."""
    preset = manifest.resolve(manifest.settings.preset)  # relative to the manifest
    return load_preset(preset, manifest.settings.overrides, overrides, name="settings.preset")


def use_llm(manifest: Manifest, settings: Settings, llm: BaseChatModel | None) -> bool:
    """Whether this build drafts with the LLM chain (manifest ``drafter``, else settings)."""
    if manifest.drafter == "auto":
        return llm is not None or settings.llm_configured
    return manifest.drafter == "llm"


def chat_model(manifest: Manifest, settings: Settings) -> BaseChatModel:
    """The configured chat model with the manifest's retries and request limiter attached."""
    llm_settings = settings.llm.model_copy(update={"max_retries": manifest.rate_limit.max_retries})
    chat = make_chat_model(llm_settings)
    limiter = request_limiter(manifest.rate_limit.requests_per_minute)
    if limiter is not None:
        chat.rate_limiter = limiter
    return chat


def build_inputs(
    settings: Settings, index: Index, chat: BaseChatModel | None, llm: bool
) -> BuildInputs:
    """The inputs every question shares, exactly as ``draft_article`` will record them."""
    if llm:
        assert chat is not None
        drafter = LLMDrafter(chat, settings.llm, prompts_dir=settings.prompts.dir)
        return BuildInputs(
            corpus_version=index.passage_db.corpus_version(),
            prompt_versions=drafter.prompt_versions,
            model=getattr(chat, "model_name", None) or settings.llm.model,
            drafter="llm",
            settings_hash=settings_hash(settings),
        )
    return BuildInputs(
        corpus_version=index.passage_db.corpus_version(),
        prompt_versions={},
        model=None,
        drafter="extractive",
        settings_hash=settings_hash(settings),
    )


def check_users(flow: Workflow, manifest: Manifest) -> None:
    """Refuse (ConfigError) before any drafting when the author or publisher cannot act."""
    try:
        flow.draft_author(manifest.author)
    except (ReviewError, NotFoundError) as exc:
        raise ConfigError(f"manifest author: {exc.message}", exc.hint) from exc
    if manifest.republish_unchanged:
        name = manifest.publisher
        user = flow.store.find_user(name) if name else None
        if user is None or not {Role.PUBLISHER, Role.ADMIN} & set(user.roles):
            raise ConfigError(
                f"republish_unchanged needs a publisher; {name!r} is not one",
                "Set `publisher:` to a user with the publisher role "
                "(`press users add NAME --role publisher`).",
            )


_IN_REVIEW = (S.SUBMITTED, S.UNDER_REVIEW)
"""Statuses in which a new revision is refused (a reviewer holds the article): "held"."""


def plan(
    questions: list[BuildQuestion], store: Store, inputs: BuildInputs, *, force: bool
) -> list[_Planned]:
    """Each question's key and outcome-to-be, from the store alone."""
    planned = []
    for q in questions:
        key = CacheKey(q.question, q.audience, inputs)
        row = QuestionRow(question=q.question, audience=q.audience, outcome="new", key=key.digest)
        article = store.find_article(question=q.question, audience=q.audience)
        if article is not None:
            current = store.revision(article.state.revision_id)
            row.slug, row.revision, row.status = article.slug, current.label, article.state.status
            changed = differences(key, current)
            if changed and confirmed_key(store, article.id, current.id) == key.digest:
                changed = []  # an identical re-draft already confirmed this revision
            row.outcome = "changed" if changed or force else "unchanged"
            row.reasons = changed or (["forced"] if force else [])
            if changed and not force and article.state.status in _IN_REVIEW:
                row.outcome = "held"
                row.note = (
                    f"not redrafted: {article.state.status} (a reviewer holds it); drafted on a "
                    "later run once it is approved, returned with changes or withdrawn"
                )
        planned.append(_Planned(q, key, row))
    return planned


def run_build(
    manifest: Manifest,
    settings: Settings,
    index: Index,
    store: Store,
    *,
    options: BuildOptions | None = None,
    llm: BaseChatModel | None = None,
    on_event: EventFn = _no_event,
) -> BuildReport:
    """Run one build (see the module docstring); the caller holds the build lock."""
    options = options or BuildOptions()
    started = time.perf_counter()
    flow = Workflow(store)
    llm_on = use_llm(manifest, settings, llm)
    chat = (llm or chat_model(manifest, settings)) if llm_on else None
    inputs = build_inputs(settings, index, chat, llm_on)
    report = BuildReport(
        manifest=str(manifest.path),
        shard=None if options.shard is None else str(options.shard),
        dry_run=options.dry_run,
        forced=options.force,
        drafter=inputs.drafter,
        corpus_version=inputs.corpus_version,
        settings_hash=inputs.settings_hash,
    )
    check_users(flow, manifest)
    planned = plan(
        select(manifest.build_questions(), options.shard), store, inputs, force=options.force
    )
    report.questions = [p.row for p in planned]
    todo = [p for p in planned if p.row.outcome not in ("unchanged", "held")]
    on_event("build.start", manifest=report.manifest, shard=report.shard,
             questions=len(planned), to_draft=len(todo), dry_run=options.dry_run)  # fmt: skip
    for p in planned:
        if p.row.outcome in ("unchanged", "held"):
            on_event(f"question.{p.row.outcome}", question=p.row.question, slug=p.row.slug)
    candidates: list[str] = []
    if not options.dry_run and todo:
        candidates = _draft_all(manifest, settings, index, flow, chat, llm_on, todo, options,
                                on_event)  # fmt: skip
    drafted = any(r.outcome in ("new", "changed") for r in report.questions)
    if manifest.eval is not None and drafted and not options.dry_run:
        report.eval = _run_eval(manifest, settings, index, chat, llm_on)
        on_event("eval.done", regressions=report.eval.regressions)
        if report.eval.regressions:
            report.publish_blocked = "eval regression: " + ", ".join(report.eval.regressions)
    if candidates and report.publish_blocked:
        on_event("publish.blocked", reason=report.publish_blocked, slugs=candidates)
    elif candidates:
        report.published = _publish(manifest, settings, index, flow, candidates, on_event)
    report.total()
    report.seconds = round(time.perf_counter() - started, 3)
    report.exit_code = 1 if report.failed or report.publish_blocked else 0
    on_event("build.done", counts=report.counts, seconds=report.seconds,
             exit_code=report.exit_code)  # fmt: skip
    return report


def _draft_all(
    manifest: Manifest,
    settings: Settings,
    index: Index,
    flow: Workflow,
    chat: BaseChatModel | None,
    llm_on: bool,
    todo: list[_Planned],
    options: BuildOptions,
    on_event: EventFn,
) -> list[str]:
    """Draft on a pool, commit each result as it completes; returns publish candidates."""
    budget = (
        TokenBudget(manifest.rate_limit.tokens_per_minute)
        if llm_on and manifest.rate_limit.tokens_per_minute
        else None
    )

    def work(p: _Planned) -> tuple[DraftRun, float]:
        begun = time.perf_counter()
        if budget is not None:
            budget.wait()
        run = draft_article(
            p.question.question,
            settings=settings,
            index=index,
            audience=p.question.audience,
            use_llm=llm_on,
            llm=chat,
        )
        if budget is not None:
            usage = run.article.provenance.usage
            budget.spend(usage.prompt_tokens + usage.completion_tokens)
        return run, time.perf_counter() - begun

    candidates: list[str] = []
    workers = options.concurrency or manifest.concurrency
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="press-build") as pool:
        futures: dict[Future[tuple[DraftRun, float]], _Planned] = {}
        for p in todo:
            on_event("question.start", question=p.row.question, audience=p.row.audience)
            futures[pool.submit(work, p)] = p
        for future in as_completed(futures):
            p = futures[future]
            try:
                run, seconds = future.result()
                p.row.seconds = round(seconds, 3)
                _account(p.row, run, manifest)
                if _commit(flow, manifest, p.row, run, settings, p.key.digest):
                    candidates.append(p.row.slug or "")
            except PressError as exc:
                p.row.outcome, p.row.error = "failed", exc.message
            except Exception as exc:
                p.row.outcome, p.row.error = "failed", f"{type(exc).__name__}: {exc}"
            on_event("question.done", **p.row.model_dump(exclude={"reasons"}))
    return candidates


def _account(row: QuestionRow, run: DraftRun, manifest: Manifest) -> None:
    usage = run.article.provenance.usage
    row.llm_calls, row.tokens_in, row.tokens_out = (
        usage.calls,
        usage.prompt_tokens,
        usage.completion_tokens,
    )
    if manifest.prices is not None:
        row.cost = round(
            usage.prompt_tokens / 1000 * manifest.prices.per_1k_input
            + usage.completion_tokens / 1000 * manifest.prices.per_1k_output,
            6,
        )


def _commit(
    flow: Workflow,
    manifest: Manifest,
    row: QuestionRow,
    run: DraftRun,
    settings: Settings,
    digest: str,
) -> bool:
    """Store (and submit) one result; True when it is a republish candidate."""
    stored = store_run(flow, manifest.author, run.article, run.evidence)
    revision = stored.revision
    confirm_key(flow.store, revision.article_id, revision.id, digest)
    slug = stored.article.slug
    run.article.slug = slug
    save_run(run, settings.outputs)
    row.slug, row.revision = slug, revision.label
    if stored.unchanged:
        state = stored.article.state
        row.status = state.status
        row.note = f"re-draft identical to {revision.label}; kept"
        return (
            manifest.republish_unchanged
            and state.status == S.APPROVED
            and state.approved_hash == revision.content_hash
        )
    row.status = flow.submit(manifest.author, slug, comment="submitted by press build").state.status
    return False


def _run_eval(
    manifest: Manifest,
    settings: Settings,
    index: Index,
    chat: BaseChatModel | None,
    llm_on: bool,
) -> EvalOutcome:
    # Lazy: only a manifest with an eval section needs the evaluation stack, which adds
    # 0.8-1.4 s to every `press build` start (measured).
    from pipeline.evaluate.articles import evaluate_articles
    from pipeline.evaluate.compare import compare_reports, regressions
    from pipeline.evaluate.report import load_report, write_json
    from pipeline.evaluate.sets import load_set

    spec = manifest.eval
    assert spec is not None
    set_path = manifest.resolve(spec.set)
    assert set_path is not None
    report = evaluate_articles(
        load_set(set_path), index, settings, use_llm=llm_on, llm=chat, set_name=set_path.name
    )
    data = json.loads(report.model_dump_json())
    baseline = manifest.resolve(spec.baseline)
    outcome = EvalOutcome(
        set=str(set_path),
        baseline=None if baseline is None else str(baseline),
        report=data.get("metrics", {}),
    )
    if baseline is None:
        return outcome
    if not baseline.is_file():
        write_json(report, baseline)
        outcome.baseline_written = True
        return outcome
    deltas = compare_reports(load_report(baseline), data, spec.tolerances)
    outcome.regressions = [
        f"{d.metric} {d.old:.3f} -> {d.new:.3f}"
        for d in regressions(deltas)
        if d.old is not None and d.new is not None
    ]
    return outcome


def _publish(
    manifest: Manifest,
    settings: Settings,
    index: Index,
    flow: Workflow,
    slugs: list[str],
    on_event: EventFn,
) -> list[str]:
    assert manifest.publisher is not None
    done = []
    for slug in slugs:
        flow.publish(
            manifest.publisher, slug, comment="press build: re-draft identical to approved"
        )
        done.append(slug)
        on_event("publish", slug=slug)
    site = manifest.resolve(manifest.site) or settings.outputs / "site"
    report, _problems = rebuild_site(settings, flow.store, index.embeddings, site_dir=site)
    on_event("site.built", site=str(site), articles=report.articles)
    return done
