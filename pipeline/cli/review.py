"""The review, edit and publish commands of ``press``, registered onto the main app.

``pipeline.cli.app`` calls :func:`register` at the end of its module, so import ``pipeline.cli.app``
(not this module) to get the full app. Each command is a thin shell over
:class:`~pipeline.review.workflow.Workflow`: it resolves the acting user
(:func:`pipeline.cli.acting.acting_user`), calls one workflow method, and prints the
article's new status with what the user may do next (``--json`` for scripts). Refusals are
:class:`~pipeline.errors.ReviewError` s, printed by ``handled()`` with their hint (who may do
what next) and exit code 1. ``press publish`` and ``press retract`` rebuild the static site
(:mod:`pipeline.cli.site`) from the verified live publications only.

:func:`store_draft_run` and :func:`store_follow_up` print what ``press draft`` stored; the
storing itself is :func:`pipeline.review.drafts.store_run` and
:func:`pipeline.review.follow_up.draft_follow_up`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import click
import typer
from rich.markup import escape

from pipeline.article import render
from pipeline.article.parse import parse_article_markdown, read_markdown_file
from pipeline.cli.acting import AsJson, AsUser, acting_user, workflow
from pipeline.cli.common import (
    console,
    current_settings,
    err_console,
    handled,
    open_index,
    print_table,
)
from pipeline.cli.site import rebuild_site_and_report, site_app
from pipeline.cli.users import users_app
from pipeline.models.article import Audience
from pipeline.models.evidence import SearchFilters
from pipeline.review import views
from pipeline.review.drafts import store_run
from pipeline.review.machine import Action
from pipeline.settings.load import Settings
from pipeline.store.db import Store
from pipeline.store.publications import stale_articles
from pipeline.store.records import RevisionRecord

if TYPE_CHECKING:  # the drafting stack and the index: 1.6 s and 0.4 s on `press` start-up
    from pipeline.draft.engine import DraftRun
    from pipeline.index.hybrid import Index

Comment = Annotated[str | None, typer.Option("--comment", "-m", help="Kept in the review log.")]
Slug = Annotated[str, typer.Argument(help="The article's slug (`press status` lists them).")]

def store_draft_run(settings: Settings, run: DraftRun, author: str) -> RevisionRecord:
    """Store a drafting run as a draft revision (:func:`pipeline.review.drafts.store_run`)
    and print one line saying what was stored and what comes next."""
    stored = store_run(workflow(settings), author, run.article, run.evidence)
    record, revision = stored.article, stored.revision
    if stored.unchanged:
        err_console.print(
            f"unchanged: {record.slug} {revision.label} already holds this text "
            f"({record.state.status})",
            highlight=False,
        )
    else:
        nxt = (
            f"`press draft` again or `press edit {record.slug}`"
            if record.state.status == "failed"
            else f"`press submit {record.slug} --as {author}`"
        )
        err_console.print(
            f"stored {record.slug} {revision.label} ({record.state.status}) by {author}; "
            f"next: {nxt}",
            highlight=False,
        )
    return revision


def store_follow_up(
    settings: Settings,
    index: Index,
    parent: str,
    question: str,
    author: str,
    audience: str | None,
    use_llm: bool | None,
    filters: SearchFilters | None,
    k: int | None,
) -> DraftRun:
    """Draft, store and link a follow-up of ``parent`` (``press draft --follow-up``, by
    :func:`pipeline.review.follow_up.draft_follow_up`); prints one line and returns the
    drafting run."""
    # Lazy: loads the drafting stack, +2.6 s on every `press` start-up (measured).
    from pipeline.review.follow_up import draft_follow_up

    done = draft_follow_up(
        settings,
        workflow(settings),
        index,
        parent,
        question,
        author,
        audience=cast(Audience | None, audience),  # checked by the draft command
        use_llm=use_llm,
        filters=filters,
        k=k,
    )
    slug = done.article.slug
    err_console.print(
        f"stored {slug} {done.revision.label} ({done.article.state.status}) by {author}, "
        f"follow-up of {done.parent.slug}; next: `press submit {slug} --as {author}`",
        highlight=False,
        markup=False,
    )
    return done.run


# status ------------------------------------------------------------------------------------


def _print_status(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    live = data["published_revision"]
    console.print(
        f"[bold]{escape(data['slug'])}[/] · {data['status']} · {data['revision']} by "
        + escape(data["author"])
        + (f" · live: {live}" if live else ""),
        highlight=False,
    )
    if data.get("follow_up_of"):
        console.print(f"follow-up of {data['follow_up_of']}", highlight=False, markup=False)
    if data.get("follow_ups"):
        console.print("follow-ups: " + ", ".join(data["follow_ups"]), highlight=False, markup=False)
    mine = ", ".join(data["allowed_actions"]) or "nothing"
    console.print(f"{data['user']} may: {mine}", highlight=False, markup=False)
    steps = "; ".join(f"{cmd} — {', '.join(names)}" for cmd, names in data["next_steps"].items())
    if steps:
        console.print(f"next steps: {steps}", highlight=False, markup=False)


def status(
    slug: Annotated[str | None, typer.Argument(help="One article (default: all).")] = None,
    as_user: AsUser = None,
    as_json: AsJson = False,
) -> None:
    """Show an article's status and what you may do next, or list every article."""
    settings = current_settings()
    with handled():
        flow = workflow(settings)
        if slug is not None:
            _print_status(views.article_status(flow, slug, acting_user(settings, as_user)), as_json)
            return
        rows = views.article_list(flow)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:  # plain lines, not a table: slugs are long and must stay copyable
        live = " · live" if row["live"] else ""
        line = f"{row['slug']}  {row['status']} {row['revision']}{live}"
        console.print(line, highlight=False, markup=False)


def history(slug: Slug, as_json: AsJson = False) -> None:
    """The article's review log, oldest first, with the status after each step."""
    settings = current_settings()
    with handled():
        rows = views.history(workflow(settings), slug)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    columns = ["at", "action", "actor", "revision", "status", "comment"]
    print_table(f"History of {slug}", columns, rows)


def queue(as_user: AsUser = None, as_json: AsJson = False) -> None:
    """Articles waiting for you, with what you may do to each."""
    settings = current_settings()
    with handled():
        user = acting_user(settings, as_user)
        rows = views.queue(workflow(settings), user)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        console.print(f"nothing waits for {user}", highlight=False, markup=False)
        return
    for row in rows:
        parent = f" (follow-up of {row['follow_up_of']})" if row.get("follow_up_of") else ""
        console.print(
            f"{row['slug']}  {row['status']} {row['revision']}: {', '.join(row['actions'])}"
            + parent,
            highlight=False,
            markup=False,
        )


# transitions -------------------------------------------------------------------------------


def _act(action: Action, slug: str, as_user: str | None, as_json: bool, **kwargs: Any) -> None:
    settings = current_settings()
    with handled():
        flow = workflow(settings)
        user = acting_user(settings, as_user)
        method = getattr(flow, action.verb)
        method(user, slug, **kwargs)
        if action in (Action.PUBLISH, Action.RETRACT):
            rebuild_site_and_report(settings, flow.store)
        _print_status(views.article_status(flow, slug, user), as_json)


def submit(
    slug: Slug, as_user: AsUser = None, comment: Comment = None, as_json: AsJson = False
) -> None:
    """Submit the current revision for review (an author)."""
    _act(Action.SUBMIT, slug, as_user, as_json, comment=comment)


def review(
    slug: Slug, as_user: AsUser = None, comment: Comment = None, as_json: AsJson = False
) -> None:
    """Start reviewing a submitted article (a reviewer)."""
    _act(Action.START_REVIEW, slug, as_user, as_json, comment=comment)


def approve(
    slug: Slug,
    as_user: AsUser = None,
    comment: Comment = None,
    revision: Annotated[
        int | None, typer.Option(help="Refuse unless this revision number is still current.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Approve the revision under review (a reviewer who did not write it)."""
    _act(Action.APPROVE, slug, as_user, as_json, comment=comment, revision=revision)


def request_changes(
    slug: Slug, as_user: AsUser = None, comment: Comment = None, as_json: AsJson = False
) -> None:
    """Send the article back to its author; --comment says what to change (a reviewer)."""
    _act(Action.REQUEST_CHANGES, slug, as_user, as_json, comment=comment or "")


def withdraw(
    slug: Slug, as_user: AsUser = None, comment: Comment = None, as_json: AsJson = False
) -> None:
    """Withdraw an unpublished article (its author or a publisher)."""
    _act(Action.WITHDRAW, slug, as_user, as_json, comment=comment)


def publish(
    slug: Slug, as_user: AsUser = None, comment: Comment = None, as_json: AsJson = False
) -> None:
    """Publish the approved revision and rebuild the site (a publisher)."""
    _act(Action.PUBLISH, slug, as_user, as_json, comment=comment)


def retract(
    slug: Slug,
    reason: Annotated[str | None, typer.Option(help="Why it is retracted (required).")] = None,
    as_user: AsUser = None,
    as_json: AsJson = False,
) -> None:
    """Take a published article off the site, recording the reason (a publisher)."""
    _act(Action.RETRACT, slug, as_user, as_json, reason=reason or "")


# editing -----------------------------------------------------------------------------------


def edit(
    slug: Slug,
    from_file: Annotated[
        Path | None, typer.Option("--from", help="Read the edited Markdown from FILE.")
    ] = None,
    as_user: AsUser = None,
    as_json: AsJson = False,
) -> None:
    """Edit the current revision's Markdown in $EDITOR; store it as a new draft revision."""
    # Lazy: loads the citation check (numpy, the stemmer), +0.35 s on `press` start-up.
    from pipeline.review.editing import edited_article

    settings = current_settings()
    with handled():
        flow = workflow(settings)
        user = acting_user(settings, as_user)
        flow.require(user, slug, Action.DRAFT)
        current = flow.current_revision(slug)
        original = current.article()
        before = render.to_markdown(original)
        text = read_markdown_file(from_file) if from_file else click.edit(before, extension=".md")
        if text is None or text == before:
            err_console.print("no changes; nothing stored")
            return
        draft = parse_article_markdown(text, original)
        article, evidence = edited_article(
            original,
            draft,
            current.evidence(),
            support_threshold=settings.draft.support_threshold,
            misattribution_margin=settings.draft.misattribution_margin,
            embed=open_index(settings).embed,
        )
        revision = flow.revise(user, slug, article, evidence, based_on=current.number)
        err_console.print(
            f"stored {slug} {revision.label} (draft; needs approval again)", highlight=False
        )
        _print_status(views.article_status(flow, slug, user), as_json)


def diff(
    slug: Slug,
    rev_a: Annotated[str | None, typer.Argument(help="Older revision (r1 or 1).")] = None,
    rev_b: Annotated[str | None, typer.Argument(help="Newer revision.")] = None,
) -> None:
    """Unified diff of two revisions' Markdown (default: the last two)."""
    settings = current_settings()
    with handled():
        text = views.revision_diff(workflow(settings), slug, rev_a, rev_b)
    typer.echo(text, nl=not text.endswith("\n"))


def stale(as_json: AsJson = False) -> None:
    """Published articles whose cited passages changed or vanished since approval."""
    settings = current_settings()
    with handled():
        found = stale_articles(Store.from_settings(settings), open_index(settings).passage_db.get)
    rows = [vars(item) for item in found]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        console.print("no published article cites changed evidence")
        return
    for item in found:
        console.print(
            f"[bold]{item.slug}[/] {item.revision}: {len(item.vanished)} cited passages "
            f"changed or vanished, {len(item.changed)} citations changed; re-draft or edit it",
            highlight=False,
        )


COMMANDS: dict[str, Callable[..., None]] = {
    "submit": submit,
    "review": review,
    "approve": approve,
    "request-changes": request_changes,
    "withdraw": withdraw,
    "publish": publish,
    "retract": retract,
    "status": status,
    "history": history,
    "queue": queue,
    "edit": edit,
    "diff": diff,
    "stale": stale,
}
"""Top-level ``press`` commands added by :func:`register`."""


def register(app: typer.Typer) -> None:
    """Add the review, edit and publish commands and the ``users``/``site`` groups to ``app``."""
    for name, command in COMMANDS.items():
        app.command(name)(command)
    app.add_typer(users_app, name="users")
    app.add_typer(site_app, name="site")
