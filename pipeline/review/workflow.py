"""The stored workflow: one guarded method per transition on top of the article store.

Each method reads the article, checks the guard (:func:`pipeline.review.machine.check`),
computes the new state with :func:`pipeline.review.machine.apply` and writes the new revision
(if any), exactly one review-log row and the new state in one transaction that holds the
article's optimistic lock (:meth:`pipeline.store.db.Store.update_article`). A refusal carries
a hint listing what the acting user may do and who may take each next step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pipeline.errors import (
    ConcurrentUpdateError,
    InvalidTransition,
    PermissionDenied,
    ReviewError,
)
from pipeline.models.article import Article
from pipeline.models.evidence import EvidenceSet
from pipeline.review.gate import DeskItem, desk_items, gate, verified_approval
from pipeline.review.machine import (
    NEEDS_COMMENT,
    NEW_REVISION,
    QUEUE_ACTIONS,
    Action,
    Role,
    S,
    allowed_actions,
    apply,
    check,
    role_refusal,
    status_refusal,
)
from pipeline.review.users import USER_NAME, UserAdmin
from pipeline.store.content import content_hash
from pipeline.store.db import Store
from pipeline.store.records import ArticleRecord, RevisionRecord, User
from pipeline.store.timestamps import utc_now


class Workflow:
    """The guarded transitions, on top of a :class:`~pipeline.store.db.Store`.

    Every method that changes an article reads it, checks the guard, computes the new state
    with :func:`apply` and writes the revision (if any), one log row and the state in one
    transaction under the article's optimistic lock.
    """

    def __init__(self, store: Store, *, clock: Callable[[], str] = utc_now) -> None:
        self.store = store
        self.clock = clock

    # users -------------------------------------------------------------------------------

    def add_user(self, name: str, roles: Iterable[str], *, by: str | None = None) -> User:
        """Create ``name`` (or grant more roles). Once an admin exists only admins may do this
        (:meth:`pipeline.review.users.UserAdmin.add`)."""
        return UserAdmin(self.store, clock=self.clock).add(name, roles, by=by)

    def draft_author(self, name: str) -> User:
        """The user storing a new draft, checked before drafting is paid for.

        An empty store registers its first user as an author (someone has to start).
        """
        user = self.store.find_user(name)
        if user is None and not self.store.users() and USER_NAME.match(name):
            return self.store.add_user(name, {Role.AUTHOR}, granted_by=None, at=self.clock())
        user = user or self.store.user(name)
        reason = role_refusal(Action.DRAFT, user, None)
        if reason is not None:
            raise PermissionDenied(
                f"{name} cannot draft: {reason}",
                f"Draft --as an author, or ask an admin: `press users add {name} --role author`.",
            )
        return user

    # reading -----------------------------------------------------------------------------

    def current_revision(self, slug: str) -> RevisionRecord:
        """The current revision of article ``slug``."""
        return self.store.revision(self.store.article(slug).state.revision_id)

    def authors(self, article: ArticleRecord) -> tuple[str, str]:
        """(the current revision's author, the article's author)."""
        revision_author = self.store.revision(article.state.revision_id).author
        return revision_author, self.store.article_author(article)

    def allowed_actions(self, user_name: str, slug: str) -> list[Action]:
        """Every action the user may take on the article now (CLI and UI offer only these)."""
        article = self.store.article(slug)
        return allowed_actions(self.store.user(user_name), article.state, *self.authors(article))

    def who_may(self, slug: str) -> dict[Action, list[str]]:
        """For each action possible now, the users allowed to take it."""
        article = self.store.article(slug)
        authors = self.authors(article)
        users = self.store.users()
        return {
            action: names
            for action in Action
            if action not in NEW_REVISION and status_refusal(action, article.state) is None
            if (
                names := [
                    u.name for u in users if check(action, article.state, u, *authors) is None
                ]
            )
        }

    def require(self, user_name: str, slug: str, action: Action) -> None:
        """Raise the refusal ``action`` would meet now (e.g. before opening an editor)."""
        article = self.store.article(slug)
        self._guard(action, self.store.user(user_name), article, *self.authors(article))

    def open_items(self, slug: str) -> list[DeskItem]:
        """What stands between the current revision and approval, and what reviewers
        acknowledged (:func:`pipeline.review.gate.desk_items`)."""
        return desk_items(self.store, self.current_revision(slug))

    def queue(self, user_name: str) -> list[tuple[ArticleRecord, list[Action]]]:
        """The articles waiting for ``user_name``: those they may move forward (see
        :data:`~pipeline.review.machine.QUEUE_ACTIONS`), with those actions."""
        user = self.store.user(user_name)
        waiting = []
        for article in self.store.articles():
            allowed = allowed_actions(user, article.state, *self.authors(article))
            actions = [a for a in allowed if a in QUEUE_ACTIONS]
            if actions:
                waiting.append((article, actions))
        return waiting

    # transitions -------------------------------------------------------------------------

    def store_draft(
        self, user_name: str, article: Article, evidence: EvidenceSet
    ) -> RevisionRecord:
        """Store a drafting run: a new article, or a new revision of the one with its question.

        Identical content (same hash as the current revision) stores nothing and returns the
        current revision, so re-running a deterministic draft keeps an existing approval.
        """
        existing = self.store.find_article(question=article.question, audience=article.audience)
        failed = bool(article.failure)  # stored as "failed — needs redraft", never a draft
        action = Action.DRAFT_FAILED if failed else Action.DRAFT
        note = "; failed — needs redraft: " + "; ".join(article.failure) if failed else ""
        if existing is None:
            return self._add_revision(user_name, None, article, evidence, "drafted" + note, action)
        current = self.store.revision(existing.state.revision_id)
        same = content_hash(article.model_copy(update={"slug": existing.slug}))
        if same == current.content_hash and (existing.state.status == S.FAILED) == failed:
            return current
        return self._add_revision(
            user_name, existing, article, evidence, "drafted again" + note, action
        )

    def revise(
        self, user_name: str, slug: str, article: Article, evidence: EvidenceSet, *, based_on: int
    ) -> RevisionRecord:
        """Store an edit of revision ``r<based_on>`` as a new revision that needs approval.

        Refused when ``based_on`` is no longer the current revision (someone stored another
        one meanwhile) or when the edit changes nothing readers see.
        """
        existing = self.store.article(slug)
        current = self.store.revision(existing.state.revision_id)
        if current.number != based_on:
            raise ConcurrentUpdateError(
                f"{slug!r} is at {current.label}, not r{based_on}: someone stored a newer revision",
                f"Edit again from {current.label} (`press diff {slug}` shows what changed).",
            )
        if content_hash(article.model_copy(update={"slug": slug})) == current.content_hash:
            raise InvalidTransition(
                f"The edit of {slug!r} changes nothing readers see", "Nothing was stored."
            )
        return self._add_revision(user_name, existing, article, evidence, f"edited {current.label}")

    def reattribute(
        self,
        user_name: str,
        slug: str,
        article: Article,
        evidence: EvidenceSet,
        *,
        based_on: int,
        note: str,
    ) -> RevisionRecord:
        """Store the one-action fix of a misattributed bullet as a new draft revision.

        Guarded like :meth:`revise` (an author's edit of the current revision ``r<based_on>``);
        the review log's comment is ``note``, which says which bullet now cites which source.
        """
        existing = self.store.article(slug)
        current = self.store.revision(existing.state.revision_id)
        if current.number != based_on:
            raise ConcurrentUpdateError(
                f"{slug!r} is at {current.label}, not r{based_on}: someone stored a newer revision",
                f"Read {current.label} first; its flags may have changed.",
            )
        return self._add_revision(user_name, existing, article, evidence, note)

    def submit(self, user: str, slug: str, *, comment: str | None = None) -> ArticleRecord:
        """draft / changes_requested → submitted (an author)."""
        return self._transition(user, slug, Action.SUBMIT, comment)

    def start_review(self, user: str, slug: str, *, comment: str | None = None) -> ArticleRecord:
        """submitted → under_review (a reviewer)."""
        return self._transition(user, slug, Action.START_REVIEW, comment)

    def approve(
        self, user: str, slug: str, *, comment: str | None = None, revision: int | None = None
    ) -> ArticleRecord:
        """under_review → approved (a reviewer who did not write it); binds the content hash.

        ``revision`` (a number) refuses unless it is still the current revision, so a
        reviewer approves exactly the text they read.
        """
        return self._transition(user, slug, Action.APPROVE, comment, revision=revision)

    def request_changes(self, user: str, slug: str, *, comment: str) -> ArticleRecord:
        """submitted / under_review → changes_requested (a reviewer; the comment says what)."""
        return self._transition(user, slug, Action.REQUEST_CHANGES, comment)

    def withdraw(self, user: str, slug: str, *, comment: str | None = None) -> ArticleRecord:
        """Any unpublished status → withdrawn (the revision's author or a publisher)."""
        return self._transition(user, slug, Action.WITHDRAW, comment)

    def publish(self, user: str, slug: str, *, comment: str | None = None) -> ArticleRecord:
        """approved → published (a publisher), only if the stored text is the approved text."""
        return self._transition(user, slug, Action.PUBLISH, comment)

    def retract(self, user: str, slug: str, *, reason: str) -> ArticleRecord:
        """Take the live publication down (a publisher; the reason is recorded)."""
        return self._transition(user, slug, Action.RETRACT, reason)

    def acknowledge(
        self, user: str, slug: str, *, comment: str | None = None, check: int | None = None
    ) -> ArticleRecord:
        """Settle flagged check ``check`` of the revision under review (a reviewer who did
        not write it; ``comment`` says why the flagged sentence may stand)."""
        return self._transition(user, slug, Action.ACKNOWLEDGE, comment, check=check)

    # internals ---------------------------------------------------------------------------

    def _transition(
        self,
        user_name: str,
        slug: str,
        action: Action,
        comment: str | None,
        *,
        revision: int | None = None,
        check: int | None = None,
    ) -> ArticleRecord:
        actor = self.store.user(user_name)
        article = self.store.article(slug)
        current = self.store.revision(article.state.revision_id)
        self._guard(action, actor, article, current.author, self.store.article_author(article))
        if action in NEEDS_COMMENT and not (comment or "").strip():
            why = action in (Action.RETRACT, Action.ACKNOWLEDGE)
            what = "the reason" if why else "what to change"
            flag = "--reason" if why else "--comment"
            raise ReviewError(
                f"cannot {action.label} {slug!r} without a comment saying {what}",
                f"Pass {flag} '…'; it is kept in the review log.",
            )
        if revision is not None and revision != current.number:
            raise InvalidTransition(
                f"cannot {action.label} r{revision} of {slug!r}: the current revision is "
                f"{current.label}",
                f"Read {current.label} first (`press diff {slug}`), then act on it.",
            )
        subject = gate(self.store, action, article.slug, current, check)
        target = current
        if action is Action.RETRACT:
            assert article.state.published_revision_id is not None
            target = self.store.revision(article.state.published_revision_id)
        approval = None
        if action is Action.PUBLISH:
            approval = verified_approval(self.store, article, current)
        state = apply(article.state, action, target.id, target.content_hash)
        with self.store.update_article(article, at=self.clock()) as tx:
            log_id = tx.append_log(
                action=action,
                actor_id=actor.id,
                revision_id=target.id,
                content_hash=target.content_hash,
                comment=comment,
            )
            tx.save_state(state)
            if approval is not None:
                tx.add_publication(
                    revision_id=target.id,
                    content_hash=target.content_hash,
                    approval_id=approval.id,
                    publish_id=log_id,
                )
            if action is Action.RETRACT:
                tx.retract_publications(revision_id=target.id, retract_id=log_id)
            if action is Action.ACKNOWLEDGE:
                assert check is not None
                tx.add_acknowledgement(log_id=log_id, check_index=check, subject=subject)
        return self.store.article(slug)

    def _add_revision(
        self,
        user_name: str,
        existing: ArticleRecord | None,
        article: Article,
        evidence: EvidenceSet,
        comment: str,
        action: Action = Action.DRAFT,
    ) -> RevisionRecord:
        actor = self.store.user(user_name)
        author = article_author = None
        parent: RevisionRecord | None = None
        if existing is not None:
            parent = self.store.revision(existing.state.revision_id)
            author, article_author = parent.author, self.store.article_author(existing)
        self._guard(Action.DRAFT, actor, existing, author, article_author)
        slug = existing.slug if existing is not None else self._free_slug(article.slug)
        status = S.FAILED if action is Action.DRAFT_FAILED else S.DRAFT
        article = article.model_copy(update={"slug": slug, "status": status.value})
        digest = content_hash(article)
        at = self.clock()
        writer = (
            self.store.create_article(
                slug=slug, question=article.question, audience=article.audience, at=at
            )
            if existing is None
            else self.store.update_article(existing, at=at)
        )
        with writer as tx:
            revision_id = tx.add_revision(
                number=1 if parent is None else parent.number + 1,
                parent_id=None if parent is None else parent.id,
                content_hash=digest,
                article=article,
                evidence=evidence,
                author_id=actor.id,
            )
            tx.append_log(
                action=action,
                actor_id=actor.id,
                revision_id=revision_id,
                content_hash=digest,
                comment=comment,
            )
            tx.save_state(
                apply(None if existing is None else existing.state, action, revision_id, digest)
            )
        return self.store.revision(revision_id)

    def _free_slug(self, base: str) -> str:
        slug, n = base, 1
        while self.store.slug_taken(slug):
            n += 1
            slug = f"{base}-{n}"
        return slug

    def _guard(
        self,
        action: Action,
        actor: User,
        article: ArticleRecord | None,
        revision_author: str | None,
        article_author: str | None = None,
    ) -> None:
        state = None if article is None else article.state
        refusal = check(action, state, actor, revision_author, article_author)
        if refusal is None:
            return
        slug = "the article" if article is None else repr(article.slug)
        status = "" if state is None else f" ({state.status})"
        mine = [
            a for a in allowed_actions(actor, state, revision_author, article_author) if a != action
        ]
        hint = "You may: " + (", ".join(a.command for a in mine) or "nothing here") + "."
        if article is not None:
            others = self.who_may(article.slug)
            steps = "; ".join(f"{a.command} — {', '.join(names)}" for a, names in others.items())
            hint += f" Next steps: {steps or 'none'}."
        message = f"{actor.name} cannot {action.label} {slug}{status}: {refusal.message}"
        raise type(refusal)(message, hint)
