"""The review state machine as pure functions: statuses, roles, the transition table,
the guards, :func:`apply` and :func:`replay`.

Nothing here touches the database, so the guards and the transition function are the same
for the CLI, any UI, the stored workflow (:mod:`pipeline.review.workflow`) and the replay of
the audit log. See :mod:`pipeline.review` for the diagram and the rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

from pipeline.errors import InvalidTransition, PermissionDenied, ReviewError, StoreError
from pipeline.store.records import ArticleState, LogEntry, User


class ReviewStatus(StrEnum):
    """The workflow status of an article's current revision (the names render.py knows)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"
    RETRACTED = "retracted"
    FAILED = "failed"
    """The model's reply missed the house format after its repair round: "failed — needs
    redraft". Only a new revision (edit, redraft) or withdraw leads on from it."""


class Role(StrEnum):
    """What a user may do; admin may do everything but approve their own revision."""

    AUTHOR = "author"
    EDITOR = "editor"
    REVIEWER = "reviewer"
    PUBLISHER = "publisher"
    ADMIN = "admin"


class Action(StrEnum):
    """A registered, namespaced audit action: one per transition."""

    DRAFT = "review.draft"
    SUBMIT = "review.submit"
    START_REVIEW = "review.start_review"
    APPROVE = "review.approve"
    REQUEST_CHANGES = "review.request_changes"
    WITHDRAW = "review.withdraw"
    PUBLISH = "review.publish"
    RETRACT = "review.retract"
    DRAFT_FAILED = "review.draft_failed"
    """A drafting run stored as a failed revision (never offered as a user action)."""
    ACKNOWLEDGE = "review.acknowledge"

    @property
    def verb(self) -> str:
        """The action's short name: ``approve``, ``request_changes`` …"""
        return self.value.removeprefix("review.")

    @property
    def label(self) -> str:
        """The action in words, for messages: ``approve``, ``request changes`` …"""
        return self.verb.replace("_", " ")

    @property
    def command(self) -> str:
        """The ``press`` command that performs it."""
        return _COMMANDS[self]


_COMMANDS = {
    Action.DRAFT: "edit",
    Action.SUBMIT: "submit",
    Action.START_REVIEW: "review",
    Action.APPROVE: "approve",
    Action.REQUEST_CHANGES: "request-changes",
    Action.WITHDRAW: "withdraw",
    Action.PUBLISH: "publish",
    Action.RETRACT: "retract",
    Action.DRAFT_FAILED: "draft",
    Action.ACKNOWLEDGE: "acknowledge",
}


@dataclass(frozen=True)
class Rule:
    """Which statuses an action starts from, where it leads and which roles may take it."""

    sources: frozenset[ReviewStatus] | None
    target: ReviewStatus | None
    roles: frozenset[Role]
    who: str


def _rule(
    sources: Iterable[ReviewStatus] | None,
    target: ReviewStatus | None,
    roles: Iterable[Role],
    who: str,
) -> Rule:
    return Rule(
        None if sources is None else frozenset(sources),
        target,
        frozenset({*roles, Role.ADMIN}),
        who,
    )


S = ReviewStatus
RULES: dict[Action, Rule] = {
    Action.DRAFT: _rule(None, S.DRAFT, [Role.AUTHOR, Role.EDITOR], "an author or an editor"),
    Action.SUBMIT: _rule([S.DRAFT, S.CHANGES_REQUESTED], S.SUBMITTED, [Role.AUTHOR], "an author"),
    Action.START_REVIEW: _rule(
        [S.SUBMITTED], S.UNDER_REVIEW, [Role.REVIEWER], "a reviewer who did not write it"
    ),
    Action.APPROVE: _rule(
        [S.UNDER_REVIEW], S.APPROVED, [Role.REVIEWER], "a reviewer who did not write it"
    ),
    Action.REQUEST_CHANGES: _rule(
        [S.SUBMITTED, S.UNDER_REVIEW],
        S.CHANGES_REQUESTED,
        [Role.REVIEWER],
        "a reviewer who did not write it",
    ),
    Action.WITHDRAW: _rule(
        [S.DRAFT, S.SUBMITTED, S.UNDER_REVIEW, S.CHANGES_REQUESTED, S.APPROVED, S.FAILED],
        S.WITHDRAWN,
        [Role.PUBLISHER],
        "the article's or the revision's author, or a publisher",
    ),
    Action.PUBLISH: _rule([S.APPROVED], S.PUBLISHED, [Role.PUBLISHER], "a publisher"),
    Action.RETRACT: _rule(None, None, [Role.PUBLISHER], "a publisher"),
    Action.DRAFT_FAILED: _rule(None, S.FAILED, [Role.AUTHOR], "an author"),
    Action.ACKNOWLEDGE: _rule(
        [S.UNDER_REVIEW], None, [Role.REVIEWER], "a reviewer who did not write it"
    ),
}
"""The transition table; :func:`check` adds the rules a table cannot express."""

QUEUE_ACTIONS = frozenset(
    {Action.SUBMIT, Action.START_REVIEW, Action.APPROVE, Action.REQUEST_CHANGES, Action.PUBLISH}
)
"""Actions that move an article forward: an article waits for whoever may take one."""

NEW_REVISION = frozenset({Action.DRAFT, Action.DRAFT_FAILED})
"""Actions that store a new revision (from any status but those in :data:`EDIT_LOCKED`)."""

NEEDS_COMMENT = frozenset({Action.REQUEST_CHANGES, Action.RETRACT, Action.ACKNOWLEDGE})
"""Actions refused without a comment (what to change; why it is retracted; why a flagged
check may stand)."""

EDIT_LOCKED = frozenset({S.SUBMITTED, S.UNDER_REVIEW})
"""Statuses in which nobody stores a new revision: take it back first (withdraw, or a
reviewer requests changes), so a review never silently loses the text it is reading."""

SELF_REVIEW = frozenset(
    {Action.START_REVIEW, Action.APPROVE, Action.REQUEST_CHANGES, Action.ACKNOWLEDGE}
)
"""Review actions nobody takes on an article or a revision they wrote."""


def status_refusal(action: Action, state: ArticleState | None) -> str | None:
    """Why ``action`` cannot happen in ``state`` whoever asks, or ``None`` if it can."""
    if action in NEW_REVISION:
        if state is not None and state.status in EDIT_LOCKED:
            return (
                f"its status is {state.status}: withdraw it or have changes requested before "
                "storing a new revision"
            )
        return None
    if state is None:
        return "the article has no revision yet"
    if action is Action.RETRACT:
        return None if state.published_revision_id is not None else "nothing is published"
    sources = RULES[action].sources
    if sources is not None and state.status not in sources:
        return f"its status is {state.status}"
    if action is Action.PUBLISH and state.approved_hash != state.revision_hash:
        return "the approval does not match the current revision's content"
    return None


def role_refusal(
    action: Action,
    user: User,
    revision_author: str | None,
    article_author: str | None = None,
    *,
    new_article: bool = False,
) -> str | None:
    """Why ``user`` may not take ``action``, or ``None`` if they may (status aside).

    ``article_author`` wrote the article's first revision (``None``: the revision's author);
    ``new_article`` is true when a DRAFT would start a new article (anyone who may draft).
    """
    rule = RULES[action]
    roles = {Role(r) for r in user.roles if r in Role.__members__.values()}
    article_author = article_author or revision_author
    writers = {name for name in (revision_author, article_author) if name}
    if not user.active:
        return f"{user.name} is {user.status}"
    if action in SELF_REVIEW and roles & rule.roles and user.name in writers:
        return (
            f"{user.name} wrote this article or revision and may not {action.label}: "
            "nobody reviews their own work"
        )
    if action is Action.WITHDRAW and roles & {Role.AUTHOR, Role.EDITOR} and user.name in writers:
        return None
    if action is Action.DRAFT and not new_article and article_author is not None:
        if roles & {Role.EDITOR, Role.ADMIN}:
            return None
        if Role.AUTHOR in roles and user.name == article_author:
            return None
        return (
            f"only the article's author ({article_author}) or an editor may store a new "
            f"revision of it"
        )
    if not roles & rule.roles:
        held = ", ".join(sorted(user.roles)) or "no role"
        return f"only {rule.who} may {action.label} (they have: {held})"
    return None


def check(
    action: Action,
    state: ArticleState | None,
    user: User,
    revision_author: str | None,
    article_author: str | None = None,
) -> ReviewError | None:
    """The refusal ``action`` would meet, or ``None`` if it is allowed.

    The error's message is the bare reason ("its status is draft"); the workflow adds who
    acted on what and a hint with the next steps.
    """
    reason = status_refusal(action, state)
    if reason is not None:
        return InvalidTransition(reason)
    reason = role_refusal(action, user, revision_author, article_author, new_article=state is None)
    if reason is not None:
        return PermissionDenied(reason)
    return None


def allowed_actions(
    user: User,
    state: ArticleState | None,
    revision_author: str | None,
    article_author: str | None = None,
) -> list[Action]:
    """Every action ``user`` may take now, in workflow order (the UI offers only these)."""
    return [
        a
        for a in Action
        if a is not Action.DRAFT_FAILED
        and check(a, state, user, revision_author, article_author) is None
    ]


def apply(
    state: ArticleState | None, action: Action, revision_id: int, content_hash: str
) -> ArticleState:
    """The state after ``action`` on revision ``revision_id`` (pure; guards are separate)."""
    if action in NEW_REVISION:
        published = (
            (None, None) if state is None else (state.published_revision_id, state.published_hash)
        )
        status = S.FAILED if action is Action.DRAFT_FAILED else S.DRAFT
        return ArticleState(status, revision_id, content_hash, None, *published)
    if state is None:
        raise ValueError(f"{action} needs an existing article")
    if action is Action.APPROVE:
        return replace(state, status=S.APPROVED, approved_hash=content_hash)
    if action is Action.PUBLISH:
        return replace(
            state,
            status=S.PUBLISHED,
            published_revision_id=revision_id,
            published_hash=content_hash,
        )
    if action is Action.ACKNOWLEDGE:
        return state
    if action is Action.RETRACT:
        live_is_current = state.revision_id == state.published_revision_id
        return replace(
            state,
            status=S.RETRACTED if live_is_current else state.status,
            published_revision_id=None,
            published_hash=None,
        )
    target = RULES[action].target
    assert target is not None
    return replace(state, status=target)


def replay(log: Iterable[LogEntry]) -> ArticleState | None:
    """Fold one article's log (oldest first) through :func:`apply`; ``None`` for no rows.

    Raises :class:`StoreError` when a row names an unregistered action or a transition the
    state machine does not allow at that point (roles are not re-checked: they may have
    changed since).
    """
    state: ArticleState | None = None
    for entry in log:
        if entry.action not in Action.__members__.values():
            raise StoreError(f"Log row {entry.id} has an unregistered action {entry.action!r}")
        action = Action(entry.action)
        reason = status_refusal(action, state)
        expected = _acted_on(action, state)
        if reason is None and expected is not None and entry.revision_id != expected:
            reason = f"it names revision id {entry.revision_id}, expected {expected}"
        if reason is not None:
            raise StoreError(
                f"Log row {entry.id} ({entry.action}) does not follow from the rows before it: "
                f"{reason}",
                "The review log is inconsistent; restore the store from a backup.",
            )
        state = apply(state, action, entry.revision_id, entry.content_hash)
    return state


def _acted_on(action: Action, state: ArticleState | None) -> int | None:
    """The revision id a log row for ``action`` must name (``None``: a new one)."""
    if state is None or action in NEW_REVISION:
        return None
    return state.published_revision_id if action is Action.RETRACT else state.revision_id
