"""Drafting against a real model: the local lane (``evidence-press[local]``) on the demo corpus.

The scripted server reproduces what a model did once; this lane checks what a real small
model does now. It asserts invariants, never wording: every article is either a house-format
draft (sections of bullets, every bullet citing evidence that resolves to a reference, a
verdict on a yes/no question), an abstention (no section, no claim), or a revision stored
as *failed — needs redraft* with the violations listed. Nothing in between is stored as a
normal draft. Each article's provenance carries its stage times and token counts.

Marked ``real_model``; skipped with a reason when the extra is not installed. Runs in CI
(``.ci/run`` installs the extra). Three questions, each a few minutes on one CPU thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipeline.cite.attribution import attribution_score
from pipeline.draft.engine import DraftRun, draft_article
from pipeline.draft.local import LocalServer, check_local_model
from pipeline.index.hybrid import Index
from pipeline.models.article import Bullet, DraftSection
from pipeline.review.editing import align_evidence, edited_article
from pipeline.review.machine import ReviewStatus
from pipeline.settings.drafting import LLMSettings
from pipeline.settings.load import Settings, load_settings
from pipeline.store.db import Store
from pipeline.text import is_yes_no_question, split_sentences
from tests.support.demo_index import REFERENCE_QUESTION
from tests.support.review_factories import staffed

pytestmark = [pytest.mark.real_model, pytest.mark.timeout(900)]

QUESTIONS = [
    (REFERENCE_QUESTION, "clinician"),
    ("What is stiff-person syndrome and how is it treated?", "patient"),
    ("What is the recommended dose of amoxicillin for acute otitis media in children?",
     "clinician"),
]  # fmt: skip


def _lane_ready() -> tuple[bool, str]:
    ok, detail, hint = check_local_model(LLMSettings(provider="local"))
    return ok, f"{detail} ({hint})" if hint else detail


@pytest.fixture(scope="module")
def local(
    demo: tuple[Settings, Index], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, Index]]:
    """The shared demo index (read only) with a home of the module's own: drafting through
    the LLM writes the endpoint's mode memory into the home, never into the shared one."""
    ok, why = _lane_ready()
    if not ok:
        pytest.skip(f"local model lane not installed: {why}")
    _, index = demo
    own = tmp_path_factory.mktemp("real-model-home")
    settings = load_settings(home=own / "home", outputs=own / "outputs", llm={"provider": "local"})
    yield settings, index
    for server in list(LocalServer._running.values()):
        server.stop()


@pytest.fixture(scope="module")
def drafted(local: tuple[Settings, Index]) -> Callable[[str, str], tuple[DraftRun, float]]:
    """Draft each (question, audience) once for the module: (the run, seconds it took).

    The planted-misattribution test reuses the reference question's real draft instead of
    paying for another one (minutes each on one CPU thread)."""
    settings, index = local
    runs: dict[tuple[str, str], tuple[DraftRun, float]] = {}

    def draft(question: str, audience: str) -> tuple[DraftRun, float]:
        if (question, audience) not in runs:
            started = time.monotonic()
            run = draft_article(question, settings=settings, index=index, audience=audience)  # type: ignore[arg-type]
            runs[question, audience] = (run, time.monotonic() - started)
        return runs[question, audience]

    return draft


@pytest.mark.parametrize(
    ("question", "audience"), QUESTIONS, ids=["ivig", "patient", "unanswerable"]
)
def test_a_real_draft_is_an_article_an_abstention_or_marked_failed(
    drafted: Callable[[str, str], tuple[DraftRun, float]],
    tmp_path: Path,
    question: str,
    audience: str,
) -> None:
    run, seconds = drafted(question, audience)
    article, draft = run.article, run.article.draft
    references = {r.number for r in article.references}
    kind = (
        "failed" if article.failure else "abstention" if draft.insufficient_evidence else "article"
    )
    bullets = [b for s in draft.sections for b in s.bullets]
    print(
        f"\n{kind}: {question[:60]!r} {len(draft.sections)} sections / {len(bullets)} bullets, "
        f"verdict {draft.verdict}, {seconds:.0f} s, timings {article.provenance.timings_s}, "
        f"tokens {article.provenance.usage.prompt_tokens}+"
        f"{article.provenance.usage.completion_tokens}, failure {article.failure}"
    )
    if article.failure:
        assert article.status == "failed"
    else:
        assert article.status == "draft"
        if not draft.insufficient_evidence:
            assert draft.sections  # an article, not an abstention
        assert all(s.bullets for s in draft.sections)
        uncited = [b.text for b in bullets if not b.citations]
        assert not uncited, f"uncited claims stored as a normal draft: {uncited}"
        assert {n for b in bullets for n in b.citations} <= references
        if not bullets:
            assert not article.references  # an abstention cites and claims nothing
        if is_yes_no_question(question):
            assert draft.verdict in ("yes", "no", "maybe") or (
                draft.insufficient_evidence and draft.verdict == "uncertain"
            )
    assert article.provenance.usage.prompt_tokens > 0  # counted even without server usage
    assert {"retrieve", "draft", "cite"} <= set(article.provenance.timings_s)
    # Stored through the workflow, a failed run is a failed revision, never a draft.
    flow = staffed(Store(f"sqlite:///{tmp_path / 'press.sqlite'}"))
    record = flow.store.article(flow.store_draft("ann", article, run.evidence).article().slug)
    expected = ReviewStatus.FAILED if article.failure else ReviewStatus.DRAFT
    assert record.state.status == expected


def test_a_misattribution_planted_in_a_real_draft_is_flagged(
    local: tuple[Settings, Index], drafted: Callable[[str, str], tuple[DraftRun, float]]
) -> None:
    """The issue's case on a real draft: a sentence copied word for word from one retrieved
    source but cited to another is flagged "better supported by" the source it came from."""
    settings, _ = local
    run, _ = drafted(REFERENCE_QUESTION, "clinician")
    aligned = align_evidence(run.evidence, run.article)
    items = [i for i in aligned.items if i.passages]
    assert len(items) >= 2, "the reference question retrieves several sources"
    source = items[0]
    copied = split_sentences(source.passages[0].passage.text)[0]
    # Cite it to the retrieved source that shares the fewest of its words.
    target = min(
        items[1:],
        key=lambda i: attribution_score(copied, [p.passage.text for p in i.passages], None),
    )
    planted = DraftSection(
        heading="Planted", bullets=[Bullet(text=copied, citations=[target.number])]
    )
    draft = run.article.draft.model_copy(
        update={"sections": [*run.article.draft.sections, planted]}
    )
    checked, _ = edited_article(
        run.article, draft, run.evidence, support_threshold=settings.draft.support_threshold
    )
    section = len(draft.sections) - 1
    [check] = [c for c in checked.checks if c.is_bullet and c.section == section]
    assert check.flagged and check.better is not None, check
    assert check.better_citation_id == source.citation.id
    assert "better supported by" in check.reason
