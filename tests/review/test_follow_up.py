"""Follow-up questions: refusals, parent links, the queue, and parent evidence as hints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pipeline.review.follow_up as follow_up_module
from pipeline.draft.engine import draft_article
from pipeline.errors import (
    InputError,
    InvalidTransition,
    NotFoundError,
    PermissionDenied,
)
from pipeline.index.hybrid import Index
from pipeline.ingest.run import ingest
from pipeline.retrieve.retriever import HybridRetriever
from pipeline.review import views
from pipeline.review.follow_up import draft_follow_up, parent_hint_ids, request_follow_up
from pipeline.review.workflow import Workflow
from pipeline.settings.load import Settings, load_settings
from pipeline.store.db import Store
from pipeline.store.follow_ups import FollowUps
from tests.support.demo_index import REFERENCE_QUESTION
from tests.support.review_factories import acknowledge_flags, make_article, staffed, write_verdict
from tests.support.shared_home import SharedHomes

FOLLOW_UP = "What dose of diazepam is used for stiff-person syndrome?"


@pytest.fixture
def flow(tmp_path: Path) -> Workflow:
    return staffed(Store(f"sqlite:///{tmp_path / 'press.sqlite'}"))


def publish(flow: Workflow, slug: str) -> None:
    write_verdict(flow, slug)  # the publish gate holds the extractive placeholders back
    flow.submit("ann", slug)
    flow.start_review("rex", slug)
    acknowledge_flags(flow, slug)
    flow.approve("rex", slug)
    flow.publish("pam", slug)


@pytest.fixture
def parent(demo: tuple[Settings, Index], flow: Workflow) -> str:
    """The reference question for patients, drafted on the demo index and published."""
    settings, index = demo
    run = draft_article(
        REFERENCE_QUESTION, settings=settings, index=index, audience="patient", use_llm=False
    )
    slug = flow.store_draft("ann", run.article, run.evidence).article().slug
    publish(flow, slug)
    return slug


def test_an_unknown_parent_is_refused_before_anything_is_drafted(
    demo: tuple[Settings, Index], flow: Workflow
) -> None:
    settings, index = demo
    with pytest.raises(NotFoundError) as info:
        request_follow_up(settings, flow, index, "no-such-article", FOLLOW_UP, "ann")
    assert "press status" in info.value.hint
    assert flow.store.articles() == []


def test_an_unpublished_parent_is_refused(demo: tuple[Settings, Index], flow: Workflow) -> None:
    settings, index = demo
    slug = flow.store_draft("ann", *make_article()).article().slug
    flow.submit("ann", slug)
    with pytest.raises(InvalidTransition, match="not published") as info:
        request_follow_up(settings, flow, index, slug, FOLLOW_UP, "ann")
    assert "Publish it first" in info.value.hint
    assert [a.slug for a in flow.store.articles()] == [slug]


def test_empty_repeated_and_unauthorised_follow_ups_are_refused(
    demo: tuple[Settings, Index], flow: Workflow, parent: str
) -> None:
    settings, index = demo
    with pytest.raises(InputError):
        request_follow_up(settings, flow, index, parent, "   ", "ann")
    with pytest.raises(follow_up_module.ReviewError, match="repeats the question"):
        request_follow_up(settings, flow, index, parent, f"  {REFERENCE_QUESTION.upper()} ", "ann")
    with pytest.raises(PermissionDenied):
        request_follow_up(settings, flow, index, parent, FOLLOW_UP, "rex")
    assert [a.slug for a in flow.store.articles()] == [parent]


def test_a_follow_up_is_a_linked_draft_in_the_authors_queue(
    demo: tuple[Settings, Index], flow: Workflow, parent: str
) -> None:
    settings, index = demo
    revision = request_follow_up(settings, flow, index, parent, FOLLOW_UP, "rita", use_llm=False)
    stored = revision.article()
    article = flow.store.article(stored.slug)
    assert (article.question, article.state.status, revision.author) == (FOLLOW_UP, "draft", "rita")
    assert article.audience == "patient"  # the parent's audience, not the default
    links = FollowUps(flow.store)
    parent_record = flow.store.article(parent)
    assert links.parent_of(article) == parent_record
    assert links.parent_of(parent_record) is None
    assert [a.slug for a in links.follow_ups_of(parent_record)] == [article.slug]
    assert [(r["slug"], r["follow_up_of"]) for r in views.queue(flow, "rita")] == [
        (article.slug, parent)
    ]
    status = views.article_status(flow, article.slug, "rita")
    assert status["follow_up_of"] == parent and "submit" in status["allowed_actions"]
    assert views.article_status(flow, parent, "ann")["follow_ups"] == [article.slug]
    # it goes through the same review as any article
    write_verdict(flow, article.slug, "rita")
    publish_as = {"submit": "rita", "start_review": "rex", "approve": "rex", "publish": "pam"}
    for action, user in publish_as.items():
        if action == "approve":
            acknowledge_flags(flow, article.slug)
        getattr(flow, action)(user, article.slug)
    assert flow.store.article(article.slug).state.status == "published"


def test_asking_again_adds_no_second_link_and_no_link_cycles(
    demo: tuple[Settings, Index], flow: Workflow, parent: str
) -> None:
    settings, index = demo
    first = draft_follow_up(settings, flow, index, parent, FOLLOW_UP, "ann", use_llm=False)
    again = draft_follow_up(settings, flow, index, parent, FOLLOW_UP, "ann", use_llm=False)
    assert first.linked and not again.linked
    assert first.article.slug == again.article.slug
    publish(flow, first.article.slug)
    # asked from the follow-up, the parent's own question lands on the parent article:
    # linking it as a follow-up of its own follow-up would make a cycle, so it is not linked
    back = draft_follow_up(
        settings,
        flow,
        index,
        first.article.slug,
        REFERENCE_QUESTION,
        "ann",
        audience="patient",
        use_llm=False,
    )
    assert back.article.slug == parent and not back.linked
    assert FollowUps(flow.store).parent_of(flow.store.article(parent)) is None


def test_the_parents_published_evidence_is_passed_as_hints(
    demo: tuple[Settings, Index], flow: Workflow, parent: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, index = demo
    seen: dict[str, Any] = {}

    def spy(question: str, **kwargs: Any) -> Any:
        seen.update(kwargs)
        return draft_article(question, **kwargs)

    monkeypatch.setattr(follow_up_module, "draft_article", spy)
    done = draft_follow_up(settings, flow, index, parent, FOLLOW_UP, "ann", use_llm=False)
    published = flow.store.revision(flow.store.article(parent).state.published_revision_id or 0)
    expected = [p.passage.id for item in published.evidence().items for p in item.passages]
    assert expected and list(seen["hint_ids"]) == expected == list(done.hint_ids)
    assert parent_hint_ids(flow.store, flow.store.article(parent)) == tuple(expected)


def _card(cid: str, title: str, *texts: str) -> str:
    sections = [{"heading": f"Part {n}", "text": text} for n, text in enumerate(texts, 1)]
    return json.dumps({"id": cid, "title": title, "year": 2020, "sections": sections})


@pytest.fixture(scope="module")
def long_document(
    tmp_path_factory: pytest.TempPathFactory, shared_homes: SharedHomes
) -> Iterator[tuple[Settings, Index]]:
    """A tiny corpus where one long document fills every candidate list: the per-citation
    cap then leaves places that only a hint can fill."""
    home = tmp_path_factory.mktemp("hints")
    corpus = home / "cards.jsonl"
    corpus.write_text(
        "\n".join(
            [
                _card(
                    "trial:long",
                    "Diazepam dose in stiff-person syndrome",
                    "Diazepam dose in stiff-person syndrome started at 5 mg of diazepam daily.",
                    "The diazepam dose for stiff-person syndrome rose to 40 mg of diazepam a day.",
                    "A high diazepam dose eased stiff-person syndrome; the diazepam dose sedated.",
                    "Diazepam dose titration in stiff-person syndrome took weeks of diazepam.",
                    "Stiff-person syndrome diazepam dose: most needed diazepam above 20 mg.",
                ),
                _card(
                    "case:benzo",
                    "High benzodiazepine needs in a stiffness disorder",
                    "Benzodiazepine treatment of this rigidity disorder often needs large daily "
                    "amounts before muscle spasms ease.",
                ),
                _card("rct:statin", "Statins after 75", "Statins lowered LDL cholesterol in "
                      "adults over 75 in a pooled analysis of cardiovascular trials."),
                _card("cohort:metformin", "Metformin in pregnancy", "Metformin exposure in "
                      "pregnancy was not linked to major birth defects in a cohort study."),
            ]
        ),
        encoding="utf-8",
    )  # fmt: skip
    settings = load_settings(
        home=home,
        outputs=home / "outputs",
        chunking={"max_tokens": 32, "overlap_tokens": 0},
        retrieval={"candidates": 3, "k": 3, "per_citation_cap": 1, "prf_docs": 0},
    )
    index = Index(settings)
    assert not ingest([corpus], index).failed
    shared_homes.register(home)
    yield settings, index
    shared_homes.forget(home)


def test_a_relevant_hint_outside_the_candidates_is_retrieved_an_irrelevant_one_is_not(
    long_document: tuple[Settings, Index],
) -> None:
    settings, index = long_document
    retriever = HybridRetriever(index=index, settings=settings.retrieval)
    ids = {
        h.citation.id: h.passage.id
        for h in retriever.search(FOLLOW_UP, k=20, mode="lexical")
        + retriever.search("statins metformin benzodiazepine rigidity", k=20, mode="lexical")
    }
    relevant, irrelevant = ids["case:benzo"], [ids["rct:statin"], ids["cohort:metformin"]]
    # every side's candidate list holds only the long document's passages
    for mode in ("dense", "lexical"):
        listed = retriever.search(FOLLOW_UP, k=3, mode=mode)  # type: ignore[arg-type]
        assert {h.citation.id for h in listed} == {"trial:long"}
    plain = retriever.search(FOLLOW_UP)
    assert [h.citation.id for h in plain] == ["trial:long"]  # the cap leaves two places

    hinted = retriever.search(FOLLOW_UP, hint_ids=[relevant, *irrelevant])
    assert [h.passage.id for h in hinted] == [plain[0].passage.id, relevant]
    assert hinted[1].dense_similarity is not None and hinted[1].dense_similarity >= 0.3
    only_irrelevant = retriever.search(FOLLOW_UP, hint_ids=irrelevant)
    assert [h.passage.id for h in only_irrelevant] == [plain[0].passage.id]

    evidence = retriever.evidence(FOLLOW_UP, hint_ids=[*irrelevant, relevant])
    cited = {p.passage.id for item in evidence.items for p in item.passages}
    assert relevant in cited and not cited & set(irrelevant)


def test_an_elliptical_follow_up_is_retrieved_in_its_parents_context(
    demo: tuple[Settings, Index], flow: Workflow, parent: str
) -> None:
    settings, index = demo
    question = "Are there alternatives if it stops working?"
    alone = HybridRetriever(index=index, settings=settings.retrieval).evidence(question)
    run = draft_follow_up(settings, flow, index, parent, question, "ann").run
    parent_ids = {
        item.citation.id for item in flow.store.revision(
            flow.store.article(parent).state.published_revision_id or 0
        ).evidence().items
    }  # fmt: skip
    cited = [item.citation.id for item in run.evidence.items]
    assert run.evidence.question == question and run.article.question == question
    assert run.evidence.sufficient and not alone.sufficient
    # The parent's topic leads the evidence; on its own the question drifts elsewhere.
    assert set(cited[:3]) <= parent_ids
    assert len(set(cited[:3]) & parent_ids) > len(
        {i.citation.id for i in alone.items[:3]} & parent_ids
    )
