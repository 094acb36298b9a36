"""The build in-process: cache hits, dry runs, forcing, the LLM path, failures, republishing,
eval regressions, users and the lock. The demo index is shared (read-only); each test has
its own store and outputs under tmp_path."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipeline.build import runner
from pipeline.build.lock import build_lock
from pipeline.build.manifest import load_manifest
from pipeline.build.report import BuildReport
from pipeline.build.runner import BuildOptions, run_build
from pipeline.draft.structured import MODES
from pipeline.errors import BuildBusyError, ConfigError
from pipeline.index.hybrid import Index
from pipeline.review.workflow import Workflow
from pipeline.settings.load import Settings, load_settings
from pipeline.store.db import Store
from tests.build.helpers import QUESTIONS, build_settings, draft_reply, write_manifest
from tests.support.openai_server import Reply, ScriptedOpenAIServer

Demo = tuple[Settings, Index]


def _build(manifest_path: Path, settings: Settings, index: Index, **options: Any) -> BuildReport:
    manifest = load_manifest(manifest_path)
    store = Store.from_settings(settings)
    events: list[str] = []
    try:
        with build_lock(store):
            report = run_build(
                manifest, settings, index, store, options=BuildOptions(**options),
                on_event=lambda event, **_: events.append(event),
            )  # fmt: skip
    finally:
        store.close()
    assert events[0] == "build.start" and events[-1] == "build.done"
    return report


def _outcomes(report: BuildReport) -> list[str]:
    return [row.outcome for row in report.questions]


def test_second_build_reuses_every_revision_without_drafting(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = build_settings(demo, tmp_path)
    manifest = write_manifest(tmp_path)
    first = _build(manifest, settings, demo[1])
    assert _outcomes(first) == ["new", "new"]
    assert {row.status for row in first.questions} == {"submitted"}
    assert first.exit_code == 0 and first.counts["new"] == 2
    assert (settings.outputs / "drafts" / first.questions[0].slug / "article.md").is_file()

    def no_drafting(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("an unchanged question was drafted")

    monkeypatch.setattr(runner, "draft_article", no_drafting)
    second = _build(manifest, settings, demo[1])
    assert _outcomes(second) == ["unchanged", "unchanged"]
    assert [r.revision for r in second.questions] == ["r1", "r1"]
    assert second.exit_code == 0


def test_dry_run_drafts_nothing_and_force_redrafts(demo: Demo, tmp_path: Path) -> None:
    settings = build_settings(demo, tmp_path)
    manifest = write_manifest(tmp_path)
    plan = _build(manifest, settings, demo[1], dry_run=True)
    assert plan.dry_run and _outcomes(plan) == ["new", "new"]
    assert Store.from_settings(settings).articles() == []

    _build(manifest, settings, demo[1])
    plan = _build(manifest, settings, demo[1], dry_run=True)
    assert _outcomes(plan) == ["unchanged", "unchanged"]

    forced = _build(manifest, settings, demo[1], force=True)
    assert _outcomes(forced) == ["changed", "changed"]
    assert forced.questions[0].reasons == ["forced"]
    # The extractive drafter is deterministic: the identical text is kept, not re-stored.
    assert [r.revision for r in forced.questions] == ["r1", "r1"]
    assert "identical" in forced.questions[0].note


def test_changed_settings_redraft_and_shards_split_the_work(demo: Demo, tmp_path: Path) -> None:
    settings = build_settings(demo, tmp_path)
    manifest = write_manifest(tmp_path, questions=QUESTIONS[:4])
    from pipeline.build.shard import Shard
    halves = [_build(manifest, settings, demo[1], shard=Shard(i, 2)) for i in (1, 2)]
    assert sorted(r.question for h in halves for r in h.questions) == sorted(QUESTIONS[:4])
    changed = settings.model_copy(
        update={"draft": settings.draft.model_copy(update={"max_bullets_per_section": 2})}
    )
    # The build submitted every article; its author takes them back so they may be redrafted
    # (an article a reviewer holds is not redrafted: see the next test).
    flow = Workflow(Store.from_settings(settings))
    for row in (r for h in halves for r in h.questions):
        assert row.slug is not None
        flow.withdraw("press-build", row.slug)
    again = _build(manifest, changed, demo[1])
    assert _outcomes(again) == ["changed"] * 4
    assert again.questions[0].reasons == ["settings_hash"]
    # A new revision where the text changed; an identical text keeps r1 (and its approval).
    assert all(r.revision == "r2" or "identical" in r.note for r in again.questions)
    assert any(r.revision == "r2" for r in again.questions)


def _llm_settings(demo: Demo, tmp: Path, server: ScriptedOpenAIServer) -> Settings:
    return build_settings(
        demo, tmp, base_url=server.base_url, api_key="test", model="test-model", timeout_s=10
    )


def test_llm_rebuild_of_an_unchanged_manifest_makes_zero_requests(
    demo: Demo, tmp_path: Path, make_openai_server: Callable[..., ScriptedOpenAIServer]
) -> None:
    server = make_openai_server(default=draft_reply())
    settings = _llm_settings(demo, tmp_path, server)
    prices = {"per_1k_input": 1.0, "per_1k_output": 2.0}
    manifest = write_manifest(tmp_path, questions=QUESTIONS[:3], drafter="auto", prices=prices)
    first = _build(manifest, settings, demo[1], concurrency=3)
    assert _outcomes(first) == ["new"] * 3
    assert server.chat_requests == 3 and first.llm_calls == 3
    assert first.tokens_in > 0 and first.tokens_out > 0
    expected = (first.tokens_in * 1.0 + first.tokens_out * 2.0) / 1000
    assert first.cost == pytest.approx(expected, abs=1e-5)
    assert first.drafter == "llm"

    second = _build(manifest, settings, demo[1], concurrency=3)
    assert _outcomes(second) == ["unchanged"] * 3
    assert server.chat_requests == 3, "a rebuild of an unchanged manifest must not call the LLM"
    assert second.llm_calls == 0


def test_429_is_retried_with_backoff_and_failures_are_listed(
    demo: Demo, tmp_path: Path, openai_server: ScriptedOpenAIServer
) -> None:
    refused = [Reply.error(400, "bad request") for _ in MODES]
    openai_server.enqueue(Reply.rate_limited(), draft_reply(), *refused)
    settings = _llm_settings(demo, tmp_path, openai_server)
    manifest = write_manifest(
        tmp_path, questions=QUESTIONS[:2], drafter="llm", concurrency=1,
        rate_limit={"max_retries": 2, "requests_per_minute": 6000, "tokens_per_minute": 10**6},
    )  # fmt: skip
    report = _build(manifest, settings, demo[1])
    assert _outcomes(report) == ["new", "failed"]
    # 429 and its retry; then a 400, which is not retried as such: while the drafter
    # negotiates a structured-output mode a 400 means "try the next mode"
    # (draft/structured.py), so the question fails once every mode was refused.
    assert openai_server.chat_requests == 2 + len(MODES)
    assert "400" in report.questions[1].error
    assert report.exit_code == 1 and report.counts["failed"] == 1

    openai_server.enqueue(draft_reply())
    again = _build(manifest, settings, demo[1])
    assert _outcomes(again) == ["unchanged", "new"]  # the failed one is retried, only it


def _approve(settings: Settings, slug: str) -> None:
    flow = Workflow(Store.from_settings(settings))
    flow.start_review("rex", slug)
    flow.approve("rex", slug)


def _users(settings: Settings) -> None:
    flow = Workflow(Store.from_settings(settings))
    flow.add_user("press-build", ["author"])
    flow.add_user("rex", ["reviewer"])
    flow.add_user("pat", ["publisher"])


def test_only_approved_identical_redrafts_are_republished_and_eval_can_block(
    demo: Demo, tmp_path: Path
) -> None:
    settings = build_settings(demo, tmp_path)
    _users(settings)
    (tmp_path / "set.jsonl").write_text(
        json.dumps({"id": "q", "question": QUESTIONS[0], "relevant": []}) + "\n"
    )
    evaluation = {"set": "set.jsonl", "baseline": "baseline.json"}
    manifest = write_manifest(tmp_path, eval=evaluation)
    first = _build(manifest, settings, demo[1])
    assert first.eval is not None and first.eval.baseline_written
    slug = first.questions[0].slug
    assert slug is not None
    _approve(settings, slug)

    # Not allowed by the manifest: nothing is published.
    kept = _build(manifest, settings, demo[1], force=True)
    assert kept.published == [] and kept.exit_code == 0

    republish = {"republish_unchanged": True, "publisher": "pat", "eval": evaluation}
    allowed = write_manifest(tmp_path, name="r.yaml", **republish)
    # A regression against the baseline blocks publishing.
    baseline = json.loads((tmp_path / "baseline.json").read_text())
    honest = json.dumps(baseline)
    baseline["metrics"]["structure_compliance"] = 2.0
    (tmp_path / "baseline.json").write_text(json.dumps(baseline))
    blocked = _build(allowed, settings, demo[1], force=True)
    assert blocked.published == [] and blocked.exit_code == 1, blocked.eval
    assert "structure_compliance" in blocked.publish_blocked

    (tmp_path / "baseline.json").write_text(honest)
    done = _build(allowed, settings, demo[1], force=True)
    assert done.published == [slug], "only the approved article, never the submitted one"
    assert done.exit_code == 0
    store = Store.from_settings(settings)
    assert store.article(slug).state.status == "published"
    assert store.find_article(question=QUESTIONS[1], audience="clinician").state.status == (
        "submitted"
    )
    assert (settings.outputs / "site" / "articles" / f"{slug}.html").is_file()


def test_author_and_publisher_are_checked_before_drafting(demo: Demo, tmp_path: Path) -> None:
    settings = build_settings(demo, tmp_path)
    _users(settings)
    with pytest.raises(ConfigError, match="ghost"):
        _build(write_manifest(tmp_path, author="ghost"), settings, demo[1])
    with pytest.raises(ConfigError, match="publisher"):
        _build(write_manifest(tmp_path, republish_unchanged=True, publisher="rex"),
               settings, demo[1])  # fmt: skip
    assert Store.from_settings(settings).articles() == []


def test_a_second_build_on_the_same_store_is_refused(demo: Demo, tmp_path: Path) -> None:
    settings = build_settings(demo, tmp_path)
    held = build_lock(Store.from_settings(settings))
    with held, pytest.raises(BuildBusyError, match="Another build") as info:
        _build(write_manifest(tmp_path), settings, demo[1])
    assert info.value.exit_code == 75  # busy, not a configuration error: retry later
    assert _outcomes(_build(write_manifest(tmp_path), settings, demo[1])) == ["new", "new"]


def test_an_identical_redraft_confirms_the_kept_revision_for_the_next_build(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = build_settings(demo, tmp_path)
    manifest = write_manifest(tmp_path, questions=QUESTIONS[:1])
    first = _build(manifest, settings, demo[1])
    assert first.questions[0].slug is not None
    Workflow(Store.from_settings(settings)).withdraw("press-build", first.questions[0].slug)
    # rrf_k is unused by z-score fusion: the settings hash changes, the text does not.
    assert settings.retrieval.fusion == "zscore"
    retrieval = settings.retrieval.model_copy(update={"rrf_k": settings.retrieval.rrf_k + 1})
    moved = settings.model_copy(update={"retrieval": retrieval})
    again = _build(manifest, moved, demo[1])
    assert _outcomes(again) == ["changed"] and again.questions[0].revision == "r1"
    assert "identical" in again.questions[0].note

    def no_drafting(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a confirmed revision was drafted again")

    monkeypatch.setattr(runner, "draft_article", no_drafting)
    third = _build(manifest, moved, demo[1])
    assert _outcomes(third) == ["unchanged"]
    # Back to the original settings: the revision's own provenance matches again.
    assert _outcomes(_build(manifest, settings, demo[1])) == ["unchanged"]


def test_an_article_in_review_is_held_not_redrafted(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A settings change must not fail the nightly build over an article a reviewer holds:
    storing a new revision under review is refused (issue 13), so the build holds it, says
    why, and drafts it on a later run once the review is over."""
    settings = build_settings(demo, tmp_path)
    manifest = write_manifest(tmp_path, questions=QUESTIONS[:2])
    first = _build(manifest, settings, demo[1])
    assert [r.status for r in first.questions] == ["submitted", "submitted"]
    flow = Workflow(Store.from_settings(settings))
    slug = first.questions[1].slug
    assert first.questions[0].slug is not None and slug is not None
    flow.withdraw("press-build", first.questions[0].slug)
    changed = settings.model_copy(
        update={"draft": settings.draft.model_copy(update={"max_bullets_per_section": 2})}
    )
    drafted: list[str] = []
    real = runner.draft_article

    def spy(question: str, *args: Any, **kwargs: Any) -> Any:
        drafted.append(question)
        return real(question, *args, **kwargs)

    monkeypatch.setattr(runner, "draft_article", spy)
    again = _build(manifest, changed, demo[1])
    assert _outcomes(again) == ["changed", "held"]
    assert drafted == [QUESTIONS[0]], "a held question must not be drafted (an LLM call)"
    held = again.questions[1]
    assert held.reasons == ["settings_hash"] and "submitted" in held.note
    assert again.exit_code == 0 and again.counts["held"] == 1
    assert Store.from_settings(settings).article(slug).state.status == "submitted"



def _env_settings(demo: Demo, tmp: Path) -> Settings:
    """Settings resolved the way `press build` resolves them (PRESS_* variables included)."""
    return load_settings(
        home=demo[0].home,
        outputs=tmp / "outputs",
        store={"url": f"sqlite:///{tmp / 'press.sqlite'}"},
    )


@pytest.mark.parametrize(
    "env",
    [
        {"PRESS_EMBEDDINGS__THREADS": "4"},
        {"PRESS_LLM__TIMEOUT_S": "90"},
        {"PRESS_LLM__LOCAL_THREADS": "2", "PRESS_LLM__MAX_RETRIES": "5"},
        {"PRESS_WEB__DRAFT_WORKERS": "3", "PRESS_LLM__ENCODING": "o200k_base"},
    ],
)
def test_a_setting_that_drafts_nothing_new_leaves_the_build_cache_warm(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    manifest = write_manifest(tmp_path)
    first = _build(manifest, _env_settings(demo, tmp_path), demo[1])
    assert _outcomes(first) == ["new", "new"]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    plan = _build(manifest, _env_settings(demo, tmp_path), demo[1], dry_run=True)
    assert _outcomes(plan) == ["unchanged", "unchanged"]
    assert plan.counts.get("changed", 0) == 0


@pytest.mark.parametrize(
    "env",
    [
        {"PRESS_LLM__MODEL": "another-model"},
        {"PRESS_LLM__TEMPERATURE": "0.7"},
        {"PRESS_PROMPTS__DIR": "house-prompts"},
        {"PRESS_RETRIEVAL__K": "3"},
        {"PRESS_EMBEDDINGS__MAX_TOKENS": "128"},
    ],
)
def test_a_setting_that_changes_the_draft_makes_the_build_redraft(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    manifest = write_manifest(tmp_path)
    (tmp_path / "house-prompts").mkdir()  # the working directory (conftest.isolated_home)
    first = _build(manifest, _env_settings(demo, tmp_path), demo[1])
    flow = Workflow(Store.from_settings(_env_settings(demo, tmp_path)))
    for row in first.questions:  # out of review, or the build holds them (tested above)
        assert row.slug is not None
        flow.withdraw("press-build", row.slug)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    plan = _build(manifest, _env_settings(demo, tmp_path), demo[1], dry_run=True)
    assert _outcomes(plan) == ["changed", "changed"]
    assert plan.questions[0].reasons == ["settings_hash"]


def test_the_manifest_preset_is_read_relative_to_the_manifest_under_its_overrides(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "builds"
    folder.mkdir()
    (folder / "nightly.toml").write_text("[retrieval]\nk = 4\ncandidates = 40\n")
    manifest = load_manifest(
        write_manifest(
            folder, settings={"preset": "nightly.toml", "overrides": {"retrieval": {"k": 6}}}
        )
    )
    settings = runner.manifest_settings(manifest, llm={"model": "flag-model"})
    assert (settings.retrieval.k, settings.retrieval.candidates) == (6, 40)
    assert settings.llm.model == "flag-model"
    missing = load_manifest(write_manifest(folder, "m2.yaml", settings={"preset": "gone.toml"}))
    with pytest.raises(ConfigError, match=r"settings\.preset .*gone\.toml cannot be read"):
        runner.manifest_settings(missing)
