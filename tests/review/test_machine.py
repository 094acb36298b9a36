"""Stateful property test of the review workflow (hypothesis RuleBasedStateMachine).

Random users with random roles draft, edit and act on two articles in any order. Whatever
the sequence, nothing is ever live unless the test itself saw a reviewer other than its
author approve that exact revision and content hash; the site entries show approved text
only; every accepted action adds exactly one log row and every refused one adds none; and
replaying each article's log reproduces its stored state.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from pipeline.errors import ConcurrentUpdateError, ReviewError
from pipeline.models.article import Bullet
from pipeline.review.editing import edited_article
from pipeline.review.machine import (
    QUEUE_ACTIONS,
    Action,
    ReviewStatus,
    Role,
    allowed_actions,
    replay,
)
from pipeline.store.content import content_hash
from pipeline.store.db import Store
from pipeline.store.publications import site_entries
from tests.support.review_factories import make_article, staffed

QUESTIONS = ["Does drug X help condition Y?", "Is drug Z safe in pregnancy?"]
EDITORS = ["ann", "bob", "rita", "ada", "rex"]
USERS = st.sampled_from(["ann", "bob", "rex", "rita", "pam", "ada"])
ACTIONS = st.sampled_from([a for a in Action if a not in (Action.DRAFT, Action.DRAFT_FAILED)])
HAPPY_PATH = {Action.SUBMIT, Action.START_REVIEW, Action.APPROVE, Action.PUBLISH}
TEXT_LIST = ["Claim one.", "Claim two.", "Drug X improved condition Y."]
TEXTS = st.sampled_from(TEXT_LIST)


class ReviewMachine(RuleBasedStateMachine):
    """Drives a :class:`~pipeline.review.workflow.Workflow` on an in-memory SQLite store."""

    def __init__(self) -> None:
        super().__init__()
        self.store = Store("sqlite://")
        self.flow = staffed(self.store)
        self.flow.add_user("bob", [Role.AUTHOR, Role.PUBLISHER], by="ada")
        self.users = self.store.users()
        self.approved: set[tuple[int, str]] = set()
        self.log_rows = len(self.store.log())

    def teardown(self) -> None:
        self.store.close()

    def _slug(self, question: str) -> str | None:
        found = self.store.find_article(question=question, audience="clinician")
        return None if found is None else found.slug

    def _accepted(self) -> None:
        self.log_rows += 1

    @initialize()
    def first_draft(self) -> None:
        self.flow.store_draft("ann", *make_article(QUESTIONS[0]))
        self._accepted()

    @rule(user=USERS, question=st.sampled_from(QUESTIONS), bullet=TEXTS)
    def draft(self, user: str, question: str, bullet: str) -> None:
        """`press draft`: a new article, or a new revision when the text differs."""
        slug = self._slug(question)
        before = None if slug is None else self.store.article(slug).state.revision_id
        try:
            revision = self.flow.store_draft(user, *make_article(question, bullet=bullet))
        except ReviewError:
            return
        if revision.id != before:
            self._accepted()

    @rule(user=USERS, question=st.sampled_from(QUESTIONS), bullet=TEXTS)
    def edit(self, user: str, question: str, bullet: str) -> None:
        """`press edit`: change the first bullet of the current revision."""
        slug = self._slug(question)
        if slug is None:
            return
        current = self.flow.current_revision(slug)
        draft = current.article().draft.model_copy(deep=True)
        draft.sections[0].bullets[0] = Bullet(text=bullet, citations=[1])
        article, evidence = edited_article(
            current.article(), draft, current.evidence(), support_threshold=0.35
        )
        try:
            self.flow.revise(user, slug, article, evidence, based_on=current.number)
        except (ReviewError, ConcurrentUpdateError):
            return
        self._accepted()

    @rule(
        question=st.sampled_from(QUESTIONS),
        choices=st.lists(st.integers(0, 200), min_size=2, max_size=8),
    )
    def advance(self, question: str, choices: list[int]) -> None:
        """Several steps in a row: mostly actions the workflow allows, some edits (keeps runs
        deep, so approval, publication and edits in between are reached often)."""
        slug = self._slug(question)
        if slug is None:
            return
        for choice in choices:
            if choice % 6 == 1:
                self.edit(EDITORS[choice % len(EDITORS)], question, TEXT_LIST[choice % 3])
                continue
            article = self.store.article(slug)
            author = self.store.revision(article.state.revision_id).author
            who: dict[Action, list[str]] = {}
            for member in self.users:
                for action in allowed_actions(member, article.state, author):
                    who.setdefault(action, []).append(member.name)
            # Mostly take the next happy-path step; now and then request changes, or withdraw
            # or retract (which end a run early). Pick the action first, so actions that many
            # users may take do not dominate.
            if choice % 7 == 0:
                pool = who
            else:
                moves = HAPPY_PATH if choice % 4 else QUEUE_ACTIONS
                pool = {a: users for a, users in who.items() if a in moves}
            pool.pop(Action.DRAFT, None)
            if pool:
                action = sorted(pool)[choice % len(pool)]
                user = pool[action][choice // len(pool) % len(pool[action])]
                self.act(user, question, action, "see the trial")

    @rule(
        user=USERS,
        question=st.sampled_from(QUESTIONS),
        action=ACTIONS,
        comment=st.sampled_from([None, "", "see the trial"]),
    )
    def act(self, user: str, question: str, action: Action, comment: str | None) -> None:
        """Any transition by anyone; refusals must change nothing."""
        slug = self._slug(question)
        if slug is None:
            return
        before = self.store.article(slug)
        revision = self.store.revision(before.state.revision_id)
        kwargs = {"reason" if action is Action.RETRACT else "comment": comment}
        if action is Action.REQUEST_CHANGES:
            kwargs["comment"] = comment or ""
        try:
            getattr(self.flow, action.verb)(user, slug, **kwargs)
        except ReviewError as refusal:
            assert refusal.hint
            assert self.store.article(slug) == before
            return
        self._accepted()
        event(f"accepted {action.verb}")
        if action is Action.APPROVE:
            assert user != revision.author
            self.approved.add((revision.id, revision.content_hash))
        if action is Action.PUBLISH:
            assert (revision.id, revision.content_hash) in self.approved

    @invariant()
    def nothing_is_live_without_approval_of_that_exact_text(self) -> None:
        for article in self.store.articles():
            state = article.state
            if state.published_revision_id is not None:
                assert (state.published_revision_id, state.published_hash) in self.approved
            if state.status == ReviewStatus.PUBLISHED:
                assert state.published_revision_id == state.revision_id
                assert state.approved_hash == state.revision_hash == state.published_hash
            if state.status == ReviewStatus.APPROVED:
                assert (state.revision_id, state.approved_hash) in self.approved

    @invariant()
    def the_site_shows_only_approved_text(self) -> None:
        entries, problems = site_entries(self.store)
        assert problems == []
        for entry in entries:
            live = self.store.article(entry.article.slug).state.published_revision_id
            assert live is not None
            revision = self.store.revision(live)
            assert content_hash(entry.article) == entry.content_hash == revision.content_hash
            assert (revision.id, entry.content_hash) in self.approved
            assert revision.author not in entry.reviewed_by

    @invariant()
    def one_log_row_per_accepted_action_and_replay_matches(self) -> None:
        assert len(self.store.log()) == self.log_rows
        for article in self.store.articles():
            assert replay(self.store.log(article)) == article.state


ReviewMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# Above pytest's 300 s default, so hypothesis's own 5-minute shrink limit ends a failing run
# with a readable counterexample instead of a timeout.
# 40 random walks of 25 steps: seconds of work, so it runs outside the fast lane (CI runs it).
TestReviewWorkflow = pytest.mark.slow(pytest.mark.timeout(900)(ReviewMachine.TestCase))
