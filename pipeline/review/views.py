"""Read models of the workflow (plain JSON-able data), shared by the CLI and any UI.

Each view answers one question a screen asks — what is this article's status and what may
this user do next, what happened to it, what waits for this user — from the same guards
the transitions use (:func:`pipeline.review.machine.allowed_actions`), so a UI never offers
an action the workflow would refuse.
"""

from __future__ import annotations

import difflib
from typing import Any

from pipeline.article import render
from pipeline.errors import NotFoundError, ReviewError
from pipeline.review.machine import Action, apply
from pipeline.review.workflow import Workflow
from pipeline.store.follow_ups import FollowUps
from pipeline.store.records import ArticleRecord, ArticleState, RevisionRecord
from pipeline.store.timestamps import iso


def article_status(flow: Workflow, slug: str, user_name: str) -> dict[str, Any]:
    """One article: status, current and live revision, what ``user_name`` and others may do.

    An unknown user may look but is offered nothing.
    """
    store = flow.store
    article = store.article(slug)
    current = store.revision(article.state.revision_id)
    user = store.find_user(user_name)
    mine = [] if user is None else flow.allowed_actions(user.name, slug)
    published = article.state.published_revision_id
    parent, follow_ups = FollowUps(store).lineage(article)
    return {
        **_summary(article, current),
        "article_author": store.article_author(article),
        "content_hash": current.content_hash,
        "approved": article.state.approved_hash == current.content_hash,
        "published_revision": None if published is None else store.revision(published).label,
        "follow_up_of": parent,
        "follow_ups": follow_ups,
        "user": user_name,
        "allowed_actions": [a.command for a in mine],
        "next_steps": {a.command: names for a, names in flow.who_may(slug).items()},
    }


def article_list(flow: Workflow) -> list[dict[str, Any]]:
    """Every article: slug, question, audience, status, current revision and its author,
    last change, and whether a revision is live (``press status``, the desk's queue)."""
    rows = []
    for article in flow.store.articles():
        current = flow.store.revision(article.state.revision_id)
        rows.append(
            {
                **_summary(article, current),
                "article_author": flow.store.article_author(article),
                "updated_at": iso(article.updated_at),
                "live": article.state.published_revision_id is not None,
            }
        )
    return rows


def _summary(article: ArticleRecord, current: RevisionRecord) -> dict[str, Any]:
    return {
        "slug": article.slug,
        "question": article.question,
        "audience": article.audience,
        "status": article.state.status,
        "revision": current.label,
        "author": current.author,
    }


def history(flow: Workflow, slug: str) -> list[dict[str, Any]]:
    """The article's review log, oldest first, with the status after each step."""
    rows = []
    state: ArticleState | None = None
    for entry in flow.store.log(flow.store.article(slug)):
        state = apply(state, Action(entry.action), entry.revision_id, entry.content_hash)
        rows.append(
            {
                "at": iso(entry.created_at),
                "action": entry.action,
                "actor": entry.actor,
                "revision": f"r{entry.revision_number}",
                "content_hash": entry.content_hash,
                "status": state.status,
                "comment": entry.comment,
            }
        )
    return rows


def queue(flow: Workflow, user_name: str) -> list[dict[str, Any]]:
    """The articles waiting for ``user_name``, the commands they may run on each, and the
    parent article of each follow-up."""
    links = FollowUps(flow.store)
    return [
        {
            "slug": article.slug,
            "status": article.state.status,
            "revision": flow.store.revision(article.state.revision_id).label,
            "actions": [a.command for a in actions],
            "follow_up_of": links.lineage(article)[0],
        }
        for article, actions in flow.queue(user_name)
    ]


def revision_diff(flow: Workflow, slug: str, old: str | None, new: str | None) -> str:
    """Unified diff of two revisions' Markdown (``r1``/``1``; default: the last two)."""
    store = flow.store
    article = store.article(slug)
    if old is None or new is None:
        revisions = store.revisions(article)
        if len(revisions) < 2:
            raise NotFoundError(
                f"{slug!r} has only one revision", "Name two revisions, or edit it first."
            )
        before, after = revisions[-2], revisions[-1]
    else:
        before = store.revision_by_number(article, _number(old))
        after = store.revision_by_number(article, _number(new))
    lines = difflib.unified_diff(
        render.to_markdown(before.article()).splitlines(keepends=True),
        render.to_markdown(after.article()).splitlines(keepends=True),
        fromfile=f"{slug}@{before.label}",
        tofile=f"{slug}@{after.label}",
    )
    return "".join(lines) or f"{before.label} and {after.label} render identically"


def _number(label: str) -> int:
    try:
        return int(label.lower().removeprefix("r"))
    except ValueError:
        raise ReviewError(f"{label!r} is not a revision", "Use r1, r2 … or 1, 2 …") from None
