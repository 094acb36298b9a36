"""The queue, the article page, the workflow actions, editing and revision diffs.

Every action goes through the :class:`~pipeline.review.workflow.Workflow` method the CLI calls, and
the page offers exactly :meth:`Workflow.allowed_actions`. Each action form carries the
article's lock version as the user saw it: if anyone acted on the article since the page
was loaded, the action is refused with 409 rather than applied to a state the user never
read (the store's own optimistic lock catches the race between two requests).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from pipeline.article import render
from pipeline.errors import ConcurrentUpdateError, PressError, ReviewError
from pipeline.review import views
from pipeline.review.machine import Action, ReviewStatus
from pipeline.store.follow_ups import FollowUps
from pipeline.web import sessions
from pipeline.web.csrf import require_csrf
from pipeline.web.desk import Desk, desk_of
from pipeline.web.evidence import evidence_panel, link_citations
from pipeline.web.hints import browser_hint

router = APIRouter()

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,199}$")
ACTIONS = {
    a.command: a for a in Action if a not in (Action.DRAFT, Action.DRAFT_FAILED, Action.ACKNOWLEDGE)
}
"""Form actions by their ``press`` command name (``request-changes`` …); acknowledging a
flagged check has its own form beside each flag."""
CONFIRM = {
    Action.PUBLISH: "I have read this revision and want it on the public site now.",
    Action.WITHDRAW: "Withdraw this article from review (its author must edit and submit again).",
    Action.RETRACT: "Take the live article off the public site.",
}
"""Actions that need a ticked confirmation box: they act on the public site or end a review."""
COMMENT_LABELS = {
    Action.REQUEST_CHANGES: "What should change? (required)",
    Action.RETRACT: "Why is it retracted? (required)",
    Action.APPROVE: "Approval note (optional)",
    Action.WITHDRAW: "Why withdraw it? (optional)",
}
SORTS = {
    "updated": (lambda row: row["updated_at"], True),
    "question": (lambda row: row["question"].lower(), False),
    "status": (lambda row: row["status"], False),
    "slug": (lambda row: row["slug"], False),
}


def checked_slug(slug: str) -> str:
    """``slug`` if it has the shape of a slug, else 404 (no path tricks reach the store)."""
    if not SLUG.match(slug):
        raise HTTPException(404, "No such article.")
    return slug


Slug = Annotated[str, Depends(checked_slug)]


@router.get("/queue")
def queue(
    request: Request,
    status: str = "",
    audience: str = "",
    q: str = "",
    sort: str = "updated",
) -> Response:
    """Every article with filters and sorting, counts per status, and what waits for you."""
    desk = desk_of(request)
    user = desk.user(request)
    rows = views.article_list(desk.flow)
    counts = Counter(row["status"] for row in rows)
    needle = q.strip().lower()
    shown = [
        row
        for row in rows
        if (not status or row["status"] == status)
        and (not audience or row["audience"] == audience)
        and (not needle or needle in row["question"].lower() or needle in row["slug"])
    ]
    key, reverse = SORTS.get(sort, SORTS["updated"])
    shown.sort(key=key, reverse=reverse)
    context = {
        "rows": shown,
        "total": len(rows),
        "counts": [(s.value, counts.get(s.value, 0)) for s in ReviewStatus],
        "waiting": views.queue(desk.flow, user.name),
        "filters": {"status": status, "audience": audience, "q": q, "sort": sort},
        "statuses": [s.value for s in ReviewStatus],
        "sorts": list(SORTS),
    }
    return desk.page(request, "queue.html.j2", context, user=user)


@router.get("/articles/{slug}")
def article_page(request: Request, slug: Slug) -> Response:
    """The current revision beside its evidence, with history, diff, comments and actions."""
    desk = desk_of(request)
    user = desk.user(request)
    return desk.page(request, "article.html.j2", article_context(desk, slug, user.name), user=user)


def article_context(desk: Desk, slug: str, user_name: str) -> dict[str, Any]:
    """Everything the article page shows (also used to re-show it with an error)."""
    record = desk.store.article(slug)
    revision = desk.store.revision(record.state.revision_id)
    article = revision.article().model_copy(update={"status": record.state.status})
    allowed = desk.flow.allowed_actions(user_name, slug)
    history = views.history(desk.flow, slug)
    revisions = desk.store.revisions(record)
    diff = (
        diff_lines(views.revision_diff(desk.flow, slug, None, None)) if len(revisions) > 1 else []
    )
    parent, follow_ups = FollowUps(desk.store).lineage(record)
    sources = evidence_panel(article, revision.evidence())
    items = desk.flow.open_items(slug)
    titles = {source.number: source.title or source.reference for source in sources}
    fixes = {
        index: (check.section, check.bullet, check.better)
        for index, check in enumerate(article.checks)
        if check.is_bullet and check.better is not None
    }
    return {
        "record": record,
        "revision": revision,
        "parent": parent,
        "follow_ups": follow_ups,
        "status": record.state.status,
        "body": Markup(
            link_citations(render.to_html_fragment(article, workflow_notes=False), titles)
        ),
        "sources": sources,
        "drafted_without_llm": article.drafted_without_llm,
        "placeholders": [where for index, where, _, _, _ in items if index is None],
        # Each open flag, with the one-action fix when another source supports it better.
        "open_checks": [
            (index, where, text, reason, fixes.get(index))
            for index, where, text, reason, by in items
            if index is not None and by is None
        ],
        "acknowledged": [
            (index, reason, by) for index, _, _, reason, by in items if by is not None
        ],
        "may_acknowledge": Action.ACKNOWLEDGE in allowed,
        "history": history,
        "comments": [
            row
            for row in history
            if row["action"] != Action.DRAFT.value and (row["comment"] or "").strip()
        ],
        "diff": diff,
        "diff_labels": (revisions[-2].label, revisions[-1].label) if len(revisions) > 1 else None,
        "revisions": [r.label for r in revisions],
        "actions": [a for a in allowed if a in ACTIONS.values()],
        "confirm": CONFIRM,
        "may_edit": Action.DRAFT in allowed,
        "comment_labels": COMMENT_LABELS,
        "needs_comment": {Action.REQUEST_CHANGES, Action.RETRACT},
        "live": record.state.published_revision_id is not None,
    }


def diff_lines(text: str) -> list[tuple[str, str]]:
    """A unified diff as (kind, line) pairs: ``add``, ``del``, ``hunk``, ``file``, ``same``."""
    lines = []
    for line in text.splitlines():
        if line.startswith(("+++", "---")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        lines.append((kind, line))
    return lines


@router.post("/articles/{slug}/actions/{command}", dependencies=[Depends(require_csrf)])
def act(
    request: Request,
    slug: Slug,
    command: str,
    version: Annotated[int, Form()],
    revision: Annotated[int, Form()],
    comment: Annotated[str, Form(max_length=10_000)] = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Take one workflow action on the revision the user saw (``version``, ``revision``)."""
    desk = desk_of(request)
    user = desk.user(request)
    action = ACTIONS.get(command)
    if action is None:
        raise HTTPException(404, f"No action {command!r}.")
    record = desk.store.article(slug)
    if record.version != version:
        raise ConcurrentUpdateError(
            f"{slug!r} changed since you opened it (someone acted on it meanwhile)",
            "Nothing was done. Read the article's current state, then act again if it applies.",
        )
    if action in CONFIRM and confirm != "yes":
        raise ReviewError(
            f"{action.label.capitalize()} was not confirmed",
            f"Tick the box “{CONFIRM[action]}” and press {action.label.capitalize()} again.",
        )
    text = comment.strip() or None
    kwargs: dict[str, Any] = {"comment": text}
    if action is Action.APPROVE:
        kwargs["revision"] = revision
    elif action is Action.REQUEST_CHANGES:
        kwargs["comment"] = text or ""
    elif action is Action.RETRACT:
        kwargs = {"reason": text or ""}
    if action in (Action.REQUEST_CHANGES, Action.RETRACT) and not text:
        raise ReviewError(
            f"cannot {action.label} {slug!r} without a comment",
            "Say what should change (or why it is retracted); it is kept in the review log.",
        )
    getattr(desk.flow, action.verb)(user.name, slug, **kwargs)
    message = f"Done: {action.label} ({slug})."
    if action in (Action.PUBLISH, Action.RETRACT):
        message += " " + rebuild_site(desk)
    sessions.flash(request, message)
    return RedirectResponse(f"/articles/{slug}", status_code=303)


@router.post("/articles/{slug}/acknowledge", dependencies=[Depends(require_csrf)])
def acknowledge(
    request: Request,
    slug: Slug,
    check: Annotated[int, Form(ge=0)],
    version: Annotated[int, Form()],
    reason: Annotated[str, Form(max_length=2_000)] = "",
) -> Response:
    """Let one flagged check stand, with the reviewer's reason (logged)."""
    desk = desk_of(request)
    user = desk.user(request)
    if desk.store.article(slug).version != version:
        raise ConcurrentUpdateError(
            f"{slug!r} changed since you opened it (someone acted on it meanwhile)",
            "Nothing was done. Read the article's current state, then act again if it applies.",
        )
    if not reason.strip():
        raise ReviewError(
            f"cannot acknowledge a flagged sentence of {slug!r} without a reason",
            "Say why the sentence may stand as it is; the reason is kept in the review log.",
        )
    desk.flow.acknowledge(user.name, slug, check=check, comment=reason.strip())
    sessions.flash(request, "Done: acknowledged with your reason.")
    return RedirectResponse(f"/articles/{slug}#flags", status_code=303)


def rebuild_site(desk: Desk) -> str:
    """Rebuild ``outputs/site`` from the verified live publications, as ``press publish`` does."""
    from pipeline.publish.rebuild import articles_phrase
    from pipeline.publish.rebuild import rebuild_site as rebuild
    try:
        with desk.index_lock:
            report, problems = rebuild(desk.settings, desk.store, desk.index().embeddings)
    except PressError as exc:
        return f"The site was NOT rebuilt: {exc.message} ({exc.hint})"
    warnings = f" Warnings: {'; '.join(problems)}" if problems else ""
    return f"Site rebuilt with {articles_phrase(report.articles)}.{warnings}"


@router.get("/articles/{slug}/edit")
def edit_form(request: Request, slug: Slug) -> Response:
    """The current revision's Markdown in a text box (authors of drafts, admins)."""
    desk = desk_of(request)
    user = desk.user(request)
    desk.flow.require(user.name, slug, Action.DRAFT)
    current = desk.flow.current_revision(slug)
    context = {
        "slug": slug,
        "markdown": render.to_markdown(current.article()),
        "based_on": current.number,
        "revision": current,
        "error": None,
    }
    return desk.page(request, "edit.html.j2", context, user=user)


@router.post("/articles/{slug}/edit", dependencies=[Depends(require_csrf)])
def edit(
    request: Request,
    slug: Slug,
    markdown: Annotated[str, Form(max_length=200_000)],
    based_on: Annotated[int, Form()],
) -> Response:
    """Store the edited Markdown as a new draft revision (re-checked against its evidence)."""
    from pipeline.article.parse import parse_article_markdown
    from pipeline.review.editing import edited_article
    desk = desk_of(request)
    user = desk.user(request)
    desk.flow.require(user.name, slug, Action.DRAFT)
    current = desk.flow.current_revision(slug)
    try:
        if current.number != based_on:
            raise ConcurrentUpdateError(
                f"{slug!r} is at {current.label}, not r{based_on}: someone stored a newer revision",
                "Copy your changes, reload the editor and apply them to the new revision.",
            )
        original = current.article()
        draft = parse_article_markdown(markdown.replace("\r\n", "\n"), original)
        with desk.index_lock:
            article, evidence = edited_article(
                original,
                draft,
                current.evidence(),
                support_threshold=desk.settings.draft.support_threshold,
                misattribution_margin=desk.settings.draft.misattribution_margin,
                embed=desk.index().embed,
            )
        stored = desk.flow.revise(user.name, slug, article, evidence, based_on=current.number)
    except PressError as exc:
        context = {
            "slug": slug,
            "markdown": markdown,
            "based_on": based_on,
            "revision": current,
            "error": {"message": exc.message, "hint": browser_hint(exc.hint)},
        }
        return desk.page(request, "edit.html.j2", context, status_code=exc.http_status, user=user)
    sessions.flash(request, f"Stored {stored.label} (a draft: submit it for review again).")
    return RedirectResponse(f"/articles/{slug}", status_code=303)


@router.post("/articles/{slug}/reattribute", dependencies=[Depends(require_csrf)])
def reattribute(
    request: Request,
    slug: Slug,
    based_on: Annotated[int, Form()],
    section: Annotated[int, Form()],
    bullet: Annotated[int, Form()],
) -> Response:
    """Cite the source that supports a flagged bullet better, as one logged edit."""
    from pipeline.cite.attribution import reattributed
    from pipeline.review.editing import edited_article
    desk = desk_of(request)
    user = desk.user(request)
    desk.flow.require(user.name, slug, Action.DRAFT)
    current = desk.flow.current_revision(slug)
    original = current.article()
    check = next(
        (c for c in original.checks
         if c.is_bullet and (c.section, c.bullet) == (section, bullet) and c.better is not None),
        None,
    )  # fmt: skip
    if check is None:
        raise HTTPException(404, "That bullet has no better-supported source to cite.")
    with desk.index_lock:
        article, evidence = edited_article(
            original,
            reattributed(original.draft, check),
            current.evidence(),
            support_threshold=desk.settings.draft.support_threshold,
            misattribution_margin=desk.settings.draft.misattribution_margin,
            embed=desk.index().embed,
        )
    note = (
        f"reattributed bullet {section + 1}.{bullet + 1} of {current.label} from "
        f"{check.numbers} to [{check.better}] {check.better_citation_id} "
        f"(support {check.support:.2f} → {check.better_support or 0:.2f})"
    )
    stored = desk.flow.reattribute(user.name, slug, article, evidence, based_on=based_on, note=note)
    sessions.flash(request, f"Stored {stored.label}: {note}.")
    return RedirectResponse(f"/articles/{slug}", status_code=303)


@router.get("/articles/{slug}/diff")
def diff(request: Request, slug: Slug, old: str = "", new: str = "") -> Response:
    """A readable diff of two revisions (default: the last two)."""
    desk = desk_of(request)
    user = desk.user(request)
    text = views.revision_diff(desk.flow, slug, old or None, new or None)
    record = desk.store.article(slug)
    context = {
        "slug": slug,
        "diff": diff_lines(text),
        "old": old,
        "new": new,
        "revisions": [r.label for r in desk.store.revisions(record)],
    }
    return desk.page(request, "diff.html.j2", context, user=user)
