"""The review workflow on PostgreSQL, including writers that race each other.

Runs against the throwaway server of ``tests/support/postgres.py`` (skipped when the
PostgreSQL binaries are absent). Each racing writer has its own :class:`Store` (its own
engine and connections, like separate hosts); a barrier makes them read the same article
version and then write at the same moment, so the database, not luck, decides who wins.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from pipeline.errors import BuildBusyError, ConcurrentUpdateError
from pipeline.models.article import Bullet
from pipeline.review.machine import Action, Role, replay
from pipeline.review.workflow import Workflow
from pipeline.store.db import Store
from pipeline.store.records import ArticleRecord
from pipeline.store.transaction import Transaction
from tests.support.review_factories import QUESTION, make_article, staffed


class RacingStore(Store):
    """A store whose writers wait at ``barrier`` just before their write transaction."""

    def __init__(self, url: str, barrier: threading.Barrier) -> None:
        super().__init__(url)
        self.barrier = barrier

    @contextmanager
    def create_article(self, **kwargs: Any) -> Iterator[Transaction]:
        """Wait for the other writers, then insert."""
        self.barrier.wait(timeout=10)
        with super().create_article(**kwargs) as tx:
            yield tx

    @contextmanager
    def update_article(self, article: ArticleRecord, *, at: str) -> Iterator[Transaction]:
        """Wait for the other writers, then update."""
        self.barrier.wait(timeout=10)
        with super().update_article(article, at=at) as tx:
            yield tx


def _race(pg_url: str, writers: int, act: Callable[[Workflow, int], object]) -> list[object]:
    """Run ``act(workflow, i)`` in ``writers`` threads at once; results or raised errors."""
    barrier = threading.Barrier(writers)
    stores = [RacingStore(pg_url, barrier) for _ in range(writers)]
    outcomes: list[object] = [None] * writers

    def run(i: int) -> None:
        try:
            outcomes[i] = act(Workflow(stores[i]), i)
        except Exception as exc:  # collected and asserted on by the test
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for store in stores:
        store.close()
    return outcomes


def _edited(text: str) -> Any:
    article, evidence = make_article()
    article.draft.sections[0].bullets[0] = Bullet(text=text, citations=[1])
    return article, evidence


def test_the_whole_review_workflow_runs_on_postgresql(pg_url: str) -> None:
    store = Store(pg_url)
    flow = staffed(store)
    slug = flow.store_draft("ann", *make_article()).article().slug
    flow.submit("ann", slug)
    flow.start_review("rex", slug)
    flow.request_changes("rex", slug, comment="Say how many adults.")
    flow.revise("ann", slug, *_edited("Drug X helped 60 adults with condition Y."), based_on=1)
    flow.submit("ann", slug)
    flow.start_review("rex", slug)
    flow.approve("rex", slug, revision=2)
    flow.publish("pam", slug)
    article = store.article(slug)
    assert article.state.status == "published"
    assert replay(store.log(article)) == article.state
    [live] = store.publications(article)
    assert live.content_hash == store.revision_by_number(article, 2).content_hash
    flow.retract("pam", slug, reason="Superseded.")
    assert store.article(slug).state.status != "published"
    assert [e.action for e in store.log(article)][-1] == Action.RETRACT
    store.close()


def test_two_hosts_drafting_one_question_at_once_make_one_article(pg_url: str) -> None:
    setup = Store(pg_url)
    # two editors: whoever loses the race may still add a revision to the winner's article
    staffed(setup).add_user("ed", [Role.EDITOR], by="ada")
    Workflow(setup).add_user("eve", [Role.EDITOR], by="ada")
    setup.close()
    texts = ["Drug X helped condition Y.", "Drug X eased condition Y."]
    outcomes = _race(
        pg_url, 2, lambda flow, i: flow.store_draft(("ed", "eve")[i], *_edited(texts[i]))
    )
    conflicts = [o for o in outcomes if isinstance(o, ConcurrentUpdateError)]
    assert len(conflicts) == 1, outcomes
    store = Store(pg_url)
    [article] = store.articles()
    assert article.question == QUESTION and len(store.revisions(article)) == 1
    # The loser runs again, as its hint says: its text becomes the next revision.
    loser = outcomes.index(conflicts[0])
    Workflow(store).store_draft(("ed", "eve")[loser], *_edited(texts[loser]))
    bodies = {r.article().draft.sections[0].bullets[0].text for r in store.revisions(article)}
    assert bodies == set(texts)
    store.close()


def test_concurrent_writers_one_wins_one_conflicts_nothing_is_lost(pg_url: str) -> None:
    store = Store(pg_url)
    flow = staffed(store)
    flow.add_user("ed", [Role.EDITOR], by="ada")  # an editor may edit anyone's draft
    slug = flow.store_draft("ann", *make_article()).article().slug
    before = len(store.log())
    texts = ["Drug X helped 60 adults.", "Drug X helped most adults."]
    authors = ("ann", "ed")
    outcomes = _race(
        pg_url, 2, lambda f, i: f.revise(authors[i], slug, *_edited(texts[i]), based_on=1)
    )
    conflicts = [o for o in outcomes if isinstance(o, ConcurrentUpdateError)]
    assert len(conflicts) == 1, outcomes
    assert "Nothing was written" in conflicts[0].hint
    winner = 1 - outcomes.index(conflicts[0])
    article = store.article(slug)
    assert [r.number for r in store.revisions(article)] == [1, 2]
    current = store.revision(article.state.revision_id)
    assert current.author == authors[winner]
    assert current.article().draft.sections[0].bullets[0].text == texts[winner]
    assert len(store.log()) == before + 1
    assert replay(store.log(article)) == article.state
    # Nothing is lost: the loser re-bases on the winner's revision and stores its text.
    flow.revise(authors[1 - winner], slug, *_edited(texts[1 - winner]), based_on=2)
    kept = {r.article().draft.sections[0].bullets[0].text for r in store.revisions(article)}
    assert set(texts) <= kept
    store.close()


def test_many_racing_reviewers_make_exactly_one_transition(pg_url: str) -> None:
    store = Store(pg_url)
    flow = staffed(store)
    slug = flow.store_draft("ann", *make_article()).article().slug
    flow.submit("ann", slug)
    for name in ("rev1", "rev2", "rev3"):
        flow.add_user(name, ["reviewer"], by="ada")
    reviewers = ("rex", "rev1", "rev2", "rev3")
    outcomes = _race(pg_url, 4, lambda f, i: f.start_review(reviewers[i], slug))
    wins = [o for o in outcomes if isinstance(o, ArticleRecord)]
    assert len(wins) == 1, outcomes
    assert all(isinstance(o, ConcurrentUpdateError) for o in outcomes if o not in wins)
    actions = [e.action for e in store.log()]
    assert actions.count(Action.START_REVIEW) == 1
    assert store.article(slug).state.status == "under_review"
    store.close()


def test_the_build_lock_on_postgresql_admits_one_holder_and_dies_with_it(pg_url: str) -> None:
    lock = pytest.importorskip("pipeline.build.lock", reason="`press build`'s lock is not written")
    first, second = Store(pg_url), Store(pg_url)
    with lock.build_lock(first):
        with pytest.raises(BuildBusyError) as info, lock.build_lock(second):
            pass
        assert "killed build releases" in info.value.hint
    with lock.build_lock(second):  # released on exit
        pass
    # A holder killed with SIGKILL leaves no stale lock: it ends with the session.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pipeline.store.db import Store\n"
            "from pipeline.build.lock import build_lock\n"
            "with build_lock(Store(sys.argv[1])):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(60)\n",
            pg_url,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(BuildBusyError), lock.build_lock(second):
            pass
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    deadline = time.monotonic() + 10
    while True:
        try:
            with lock.build_lock(second):
                break
        except BuildBusyError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    first.close()
    second.close()


def test_sessions_user_status_and_acknowledgements_on_postgresql(pg_url: str) -> None:
    from pipeline.models.article import BulletCheck
    from pipeline.review.users import UserAdmin
    from pipeline.store.sessions import Sessions
    store = Store(pg_url)
    flow = staffed(store)
    sessions = Sessions(store)
    at = "2026-01-01T00:00:00+00:00"
    token = sessions.start(store.user("rex"), address="10.0.0.1", user_agent="UA", at=at)
    assert sessions.user(token, at=at, idle_s=60, max_age_s=600) == store.user("rex")
    UserAdmin(store).disable("rex", by="ada")
    assert sessions.user(token, at=at, idle_s=60, max_age_s=600) is None
    assert [s.end_reason for s in sessions.list("rex", open_only=False)] == ["user disabled"]
    UserAdmin(store).enable("rex", by="ada")
    article, evidence = make_article()
    article.checks = [BulletCheck(section=0, bullet=0, flagged=True, reason="low")]
    slug = flow.store_draft("ann", article, evidence).article().slug
    flow.submit("ann", slug)
    flow.start_review("rex", slug)
    flow.acknowledge("rex", slug, check=0, comment="fine as worded")
    flow.approve("rex", slug)
    assert replay(store.log(store.article(slug))) == store.article(slug).state
    store.close()
