"""The review workflow: every transition, every refusal, approval bound to the text, replay."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from pipeline.errors import (
    ConcurrentUpdateError,
    InvalidTransition,
    NotFoundError,
    PermissionDenied,
    ReviewError,
    StoreError,
)
from pipeline.models.article import Bullet
from pipeline.review.editing import edited_article
from pipeline.review.machine import Action, ReviewStatus, Role, allowed_actions, replay
from pipeline.review.workflow import Workflow
from pipeline.store.db import Store
from pipeline.store.publications import site_entries, stale_articles
from pipeline.store.records import ArticleRecord, LogEntry, User
from tests.support.review_factories import make_article, staffed

S = ReviewStatus


@pytest.fixture
def flow(tmp_path: Path) -> Workflow:
    return staffed(Store(f"sqlite:///{tmp_path / 'press.sqlite'}"))


@pytest.fixture
def slug(flow: Workflow) -> str:
    return flow.store_draft("ann", *make_article()).article().slug


def status(flow: Workflow, slug: str) -> str:
    return flow.store.article(slug).state.status


def to_review(flow: Workflow, slug: str) -> None:
    flow.submit("ann", slug)
    flow.start_review("rex", slug)


def to_published(flow: Workflow, slug: str) -> None:
    to_review(flow, slug)
    flow.approve("rex", slug)
    flow.publish("pam", slug)


def edit(flow: Workflow, slug: str, bullet: str = "Edited claim about drug X.") -> int:
    """Store an edit of the current revision; returns the new revision number."""
    current = flow.current_revision(slug)
    draft = current.article().draft.model_copy(deep=True)
    draft.sections[0].bullets[0] = Bullet(text=bullet, citations=[1])
    article, evidence = edited_article(
        current.article(), draft, current.evidence(), support_threshold=0.35
    )
    return flow.revise("ann", slug, article, evidence, based_on=current.number).number


def assert_replays(flow: Workflow, slug: str) -> None:
    article = flow.store.article(slug)
    assert replay(flow.store.log(article)) == article.state


# transitions --------------------------------------------------------------------------------


def test_the_happy_path_writes_one_log_row_per_transition(flow: Workflow, slug: str) -> None:
    steps = [
        ("submit", "ann", {}, S.SUBMITTED),
        ("start_review", "rex", {}, S.UNDER_REVIEW),
        ("approve", "rex", {"comment": "ok"}, S.APPROVED),
        ("publish", "pam", {}, S.PUBLISHED),
        ("retract", "pam", {"reason": "dose error"}, S.RETRACTED),
    ]
    for method, actor, kwargs, expected in steps:
        before = len(flow.store.log())
        getattr(flow, method)(actor, slug, **kwargs)
        log = flow.store.log()
        assert len(log) == before + 1
        assert (log[-1].action, log[-1].actor) == (f"review.{method}", actor)
        assert status(flow, slug) == expected
        assert_replays(flow, slug)
    assert flow.store.log()[-1].comment == "dose error"
    assert flow.store.log()[3].comment == "ok"


def test_request_changes_goes_back_to_the_author_and_resubmits(flow: Workflow, slug: str) -> None:
    to_review(flow, slug)
    flow.request_changes("rex", slug, comment="cite the trial")
    assert status(flow, slug) == S.CHANGES_REQUESTED
    assert flow.queue("ann")[0][1] == [Action.SUBMIT]
    flow.submit("ann", slug)
    flow.request_changes("rita", slug, comment="straight from the queue")
    assert status(flow, slug) == S.CHANGES_REQUESTED
    assert_replays(flow, slug)


@pytest.mark.parametrize("who", ["ann", "pam", "ada"])
def test_withdraw_by_the_author_or_a_publisher(flow: Workflow, slug: str, who: str) -> None:
    flow.submit("ann", slug)
    flow.withdraw(who, slug, comment="duplicate")
    assert status(flow, slug) == S.WITHDRAWN
    assert_replays(flow, slug)


def test_admin_may_do_everything_but_approve_their_own(flow: Workflow) -> None:
    article, evidence = make_article(question="Is drug Z safe?")
    slug = flow.store_draft("ada", article, evidence).article().slug
    flow.submit("ada", slug)
    with pytest.raises(PermissionDenied, match="ada wrote this article or revision"):
        flow.start_review("ada", slug)
    flow.start_review("rex", slug)
    with pytest.raises(PermissionDenied, match="ada wrote this article or revision"):
        flow.approve("ada", slug)
    flow.approve("rex", slug)
    flow.publish("ada", slug)
    flow.retract("ada", slug, reason="superseded")
    assert status(flow, slug) == S.RETRACTED


# refusals -----------------------------------------------------------------------------------


def test_self_approval_is_refused_with_the_next_steps(flow: Workflow) -> None:
    article, evidence = make_article(question="Does drug W work?")
    slug = flow.store_draft("rita", article, evidence).article().slug
    flow.submit("rita", slug)
    # The ban covers every review step, not only approval (an author-reviewer once started
    # review of, and requested changes on, their own revision).
    for step, kwargs in (("start_review", {}), ("request_changes", {"comment": "mine"})):
        with pytest.raises(PermissionDenied, match="rita wrote this article or revision"):
            getattr(flow, step)("rita", slug, **kwargs)
    flow.start_review("rex", slug)
    with pytest.raises(PermissionDenied) as info:
        flow.approve("rita", slug)
    assert "rita wrote this article or revision and may not approve" in info.value.message
    assert "You may: withdraw" in info.value.hint
    assert "approve — ada, rex" in info.value.hint
    assert status(flow, slug) == S.UNDER_REVIEW


REFUSALS: list[tuple[str, str, str, dict[str, Any], type[ReviewError], str]] = [
    # (reach state, user, method, kwargs, error, message fragment)
    ("draft", "rex", "submit", {}, PermissionDenied, "only an author may submit"),
    ("draft", "ann", "start_review", {}, InvalidTransition, "its status is draft"),
    ("draft", "rex", "approve", {}, InvalidTransition, "its status is draft"),
    ("draft", "pam", "publish", {}, InvalidTransition, "its status is draft"),
    ("draft", "pam", "retract", {"reason": "x"}, InvalidTransition, "nothing is published"),
    ("draft", "rex", "request_changes", {"comment": "x"}, InvalidTransition, "status is draft"),
    ("submitted", "ann", "submit", {}, InvalidTransition, "its status is submitted"),
    ("submitted", "ann", "start_review", {}, PermissionDenied, "who did not write it may start"),
    ("submitted", "rex", "approve", {}, InvalidTransition, "its status is submitted"),
    ("submitted", "rita", "withdraw", {}, PermissionDenied, "the article's or the revision's"),
    ("review", "pam", "approve", {}, PermissionDenied, "only a reviewer who did not write it"),
    ("review", "ann", "request_changes", {"comment": "x"}, PermissionDenied, "only a reviewer"),
    ("review", "rex", "request_changes", {"comment": "  "}, ReviewError, "without a comment"),
    ("review", "rex", "publish", {}, InvalidTransition, "its status is under_review"),
    ("approved", "rex", "publish", {}, PermissionDenied, "only a publisher may publish"),
    ("approved", "rex", "approve", {}, InvalidTransition, "its status is approved"),
    ("published", "pam", "withdraw", {}, InvalidTransition, "its status is published"),
    ("published", "pam", "publish", {}, InvalidTransition, "its status is published"),
    ("published", "ann", "retract", {"reason": "x"}, PermissionDenied, "only a publisher"),
    ("published", "pam", "retract", {"reason": ""}, ReviewError, "without a comment"),
]


@pytest.mark.parametrize(("reach", "user", "method", "kwargs", "error", "fragment"), REFUSALS)
def test_refusals_raise_write_nothing_and_say_what_is_allowed(
    flow: Workflow,
    slug: str,
    reach: str,
    user: str,
    method: str,
    kwargs: dict[str, Any],
    error: type[ReviewError],
    fragment: str,
) -> None:
    if reach != "draft":
        flow.submit("ann", slug)
    if reach in ("review", "approved", "published"):
        flow.start_review("rex", slug)
    if reach in ("approved", "published"):
        flow.approve("rex", slug)
    if reach == "published":
        flow.publish("pam", slug)
    before = (flow.store.article(slug), len(flow.store.log()))
    with pytest.raises(error) as info:
        getattr(flow, method)(user, slug, **kwargs)
    assert type(info.value) is error
    assert fragment in info.value.message
    assert info.value.hint
    assert (flow.store.article(slug), len(flow.store.log())) == before


def test_unknown_users_are_told_how_to_register(flow: Workflow, slug: str) -> None:
    with pytest.raises(NotFoundError) as info:
        flow.submit("mallory", slug)
    assert "press users add mallory" in info.value.hint


def test_approval_of_a_revision_that_is_no_longer_current_is_refused(
    flow: Workflow, slug: str
) -> None:
    to_review(flow, slug)
    with pytest.raises(InvalidTransition, match="current revision is r1"):
        flow.approve("rex", slug, revision=2)
    flow.approve("rex", slug, revision=1)


# approval binds to the text -----------------------------------------------------------------


def test_an_edit_after_approval_needs_approval_again(flow: Workflow, slug: str) -> None:
    to_review(flow, slug)
    flow.approve("rex", slug)
    assert edit(flow, slug) == 2
    state = flow.store.article(slug).state
    assert state.status == S.DRAFT and state.approved_hash is None
    with pytest.raises(InvalidTransition):
        flow.publish("pam", slug)
    to_review(flow, slug)
    flow.approve("rex", slug)
    flow.publish("pam", slug)
    entries, problems = site_entries(flow.store)
    assert problems == [] and entries[0].revision_id.endswith("@r2")
    assert entries[0].article.draft.sections[0].bullets[0].text == "Edited claim about drug X."
    assert_replays(flow, slug)


def test_an_unapproved_edit_of_a_published_article_never_reaches_the_site(
    flow: Workflow, slug: str
) -> None:
    to_published(flow, slug)
    published = site_entries(flow.store)[0][0]
    edit(flow, slug, bullet="Unreviewed claim.")
    flow.submit("ann", slug)
    entries, problems = site_entries(flow.store)
    assert problems == [] and entries == [published]
    assert entries[0].article.status == "published" and entries[0].reviewed_by == ["rex"]
    assert "Unreviewed" not in entries[0].model_dump_json()
    assert flow.store.article(slug).state.published_revision_id is not None


def test_retracting_a_live_revision_behind_an_edit_keeps_the_edit_in_review(
    flow: Workflow, slug: str
) -> None:
    to_published(flow, slug)
    edit(flow, slug)
    flow.submit("ann", slug)
    flow.retract("pam", slug, reason="error in r1")
    state = flow.store.article(slug).state
    assert state.status == S.SUBMITTED and state.published_revision_id is None
    assert site_entries(flow.store) == ([], [])
    assert flow.store.publications()[0].retract is not None
    assert_replays(flow, slug)


def test_drafting_again_adds_a_revision_unless_the_text_is_identical(flow: Workflow) -> None:
    article, evidence = make_article()
    first = flow.store_draft("ann", article, evidence)
    slug = first.article().slug
    to_review(flow, slug)
    flow.approve("rex", slug)
    assert flow.store_draft("ann", article, evidence) == first
    assert status(flow, slug) == S.APPROVED
    changed, _ = make_article(bullet="A new sentence from a new run.")
    second = flow.store_draft("ann", changed, evidence)
    assert (second.number, second.parent_id) == (2, first.id)
    assert status(flow, slug) == S.DRAFT
    assert len(flow.store.articles()) == 1


def test_same_question_for_another_audience_is_another_article(flow: Workflow) -> None:
    flow.store_draft("ann", *make_article())
    flow.store_draft("ann", *make_article(audience="patient"))
    assert [a.audience for a in flow.store.articles()] == ["clinician", "patient"]


def test_an_edit_based_on_an_old_revision_or_changing_nothing_is_refused(
    flow: Workflow, slug: str
) -> None:
    current = flow.current_revision(slug)
    with pytest.raises(InvalidTransition, match="changes nothing"):
        flow.revise("ann", slug, current.article(), current.evidence(), based_on=1)
    edit(flow, slug)
    with pytest.raises(ConcurrentUpdateError, match="is at r2, not r1"):
        flow.revise("ann", slug, *make_article(bullet="late edit"), based_on=1)


def test_a_tampered_revision_is_neither_published_nor_shown(flow: Workflow, slug: str) -> None:
    to_published(flow, slug)
    edit(flow, slug)
    to_review(flow, slug)
    flow.approve("rex", slug)
    with flow.store.engine.begin() as conn:  # simulate a change behind the workflow's back
        conn.execute(text("DROP TRIGGER revisions_no_update"))
        conn.execute(
            text("UPDATE revisions SET article_json = replace(article_json, 'fewer', 'gone')")
        )
    with pytest.raises(StoreError, match="does not match its content hash"):
        flow.publish("pam", slug)
    entries, problems = site_entries(flow.store)
    assert entries == [] and "r1: stored text does not match" in problems[0]


# users and permissions ----------------------------------------------------------------------


def test_only_admins_add_users_once_an_admin_exists(tmp_path: Path) -> None:
    flow = Workflow(Store(f"sqlite:///{tmp_path / 'p.sqlite'}"))
    assert flow.draft_author("first").roles == {"author"}
    flow.add_user("boss", ["admin"], by="first")
    with pytest.raises(PermissionDenied, match="Only an admin"):
        flow.add_user("sneaky", ["reviewer"], by="first")
    assert flow.add_user("rev", ["reviewer"], by="boss").roles == {"reviewer"}
    with pytest.raises(ReviewError, match="Cannot add user"):
        flow.add_user("bad name", ["author"], by="boss")
    with pytest.raises(ReviewError, match="Cannot add user"):
        flow.add_user("ok", ["king"], by="boss")
    with pytest.raises(NotFoundError):
        flow.draft_author("stranger")
    with pytest.raises(PermissionDenied, match="rev cannot draft: only an author"):
        flow.draft_author("rev")


def _user(name: str, *roles: Role) -> User:
    return User(id=0, name=name, roles=frozenset(roles), created_at="")


def test_allowed_actions_per_role_and_status(flow: Workflow, slug: str) -> None:
    state = flow.store.article(slug).state
    author, reviewer = _user("ann", Role.AUTHOR), _user("rex", Role.REVIEWER)
    publisher = _user("pam", Role.PUBLISHER)
    assert allowed_actions(author, state, "ann") == [Action.DRAFT, Action.SUBMIT, Action.WITHDRAW]
    assert allowed_actions(reviewer, state, "ann") == []
    assert allowed_actions(publisher, state, "ann") == [Action.WITHDRAW]
    to_review(flow, slug)
    state = flow.store.article(slug).state
    review = [Action.APPROVE, Action.REQUEST_CHANGES, Action.ACKNOWLEDGE]
    assert allowed_actions(reviewer, state, "ann") == review
    # nobody reviews their own work, not even by asking for changes
    assert allowed_actions(_user("ann", Role.REVIEWER), state, "ann") == []
    assert flow.allowed_actions("rex", slug) == review


# replay -------------------------------------------------------------------------------------


def _entry(n: int, action: str, revision_id: int = 1, digest: str = "h1") -> LogEntry:
    return LogEntry(n, 1, revision_id, revision_id, digest, action, "x", None, "t")


def test_replay_folds_the_log_and_rejects_impossible_histories() -> None:
    ok = [_entry(1, Action.DRAFT), _entry(2, Action.SUBMIT), _entry(3, Action.START_REVIEW)]
    state = replay(ok)
    assert state is not None and state.status == S.UNDER_REVIEW and state.revision_hash == "h1"
    assert replay([]) is None
    with pytest.raises(StoreError, match="its status is submitted"):
        replay([*ok[:2], _entry(3, Action.APPROVE)])
    with pytest.raises(StoreError, match="unregistered action"):
        replay([*ok, _entry(4, "review.bribe")])
    with pytest.raises(StoreError, match="expected 1"):
        replay([*ok, _entry(4, Action.APPROVE, revision_id=7)])


# staleness ----------------------------------------------------------------------------------


def test_stale_lists_published_articles_whose_cited_passages_changed(
    flow: Workflow, slug: str
) -> None:
    to_published(flow, slug)
    evidence = flow.current_revision(slug).evidence()
    current = {p.passage.id: p for item in evidence.items for p in item.passages}
    assert stale_articles(flow.store, lambda ids: {i: current[i] for i in ids}) == []
    vanished_id = evidence.items[0].passages[0].passage.id
    changed = evidence.items[1].passages[0]
    changed_id = changed.passage.id
    current[changed_id] = changed.model_copy(
        update={"citation": changed.citation.model_copy(update={"title": "RETRACTED: study"})}
    )
    del current[vanished_id]
    [stale] = stale_articles(flow.store, lambda ids: {i: current[i] for i in ids if i in current})
    assert (stale.slug, stale.revision, stale.vanished, stale.changed) == (
        slug,
        "r1",
        [vanished_id],
        [changed_id],
    )


# two processes at once ----------------------------------------------------------------------


def _race(url: str, slug: str, who: str, barrier: Any, results: Any) -> None:
    """Child process: read the article, wait for the other process, then write."""
    store = Store(url)
    flow = Workflow(store)
    unguarded = store.update_article

    @contextmanager
    def after_barrier(article: ArticleRecord, *, at: str) -> Iterator[Any]:
        barrier.wait(timeout=60)
        with unguarded(article, at=at) as tx:
            yield tx

    store.update_article = after_barrier  # type: ignore[method-assign]
    try:
        if who == "reviewer":
            flow.approve("rex", slug)
        else:  # nobody edits a revision under review: its author takes it back instead
            flow.withdraw("ann", slug, comment="taking it back to edit")
        results.put((who, "ok"))
    except ConcurrentUpdateError:
        results.put((who, "conflict"))


@pytest.mark.slow  # a subprocess or the whole demo set: seconds, not ms
def test_two_processes_approving_and_withdrawing_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    flow = staffed(Store(url))
    slug = flow.store_draft("ann", *make_article()).article().slug
    to_review(flow, slug)
    log_before = len(flow.store.log())
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [
        context.Process(target=_race, args=(url, slug, who, barrier, results))
        for who in ("reviewer", "author")
    ]
    for worker in workers:
        worker.start()
    outcomes = dict(results.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert sorted(outcomes.values()) == ["conflict", "ok"]
    store = Store(url)
    log = store.log()
    assert len(log) == log_before + 1
    state = store.article(slug).state
    if outcomes["reviewer"] == "ok":
        assert state.status == S.APPROVED and len(store.revisions(store.article(slug))) == 1
    else:
        assert state.status == S.WITHDRAWN and state.approved_hash is None
    assert replay(store.log(store.article(slug))) == state
