"""The review, edit and publish commands of ``press``, registered onto the main app.

``pipeline.cli.app`` calls :func:`register` at the end of its module, so import ``pipeline.cli.app``
(not this module) to get the full app. Each command is a thin shell over
:class:`~pipeline.review.workflow.Workflow`: it resolves the acting user (``--as USER``, else
``review.default_user``, else the login name), calls one workflow method, and prints the
article's new status with what the user may do next (``--json`` for scripts). Refusals are
:class:`~pipeline.errors.ReviewError` s, printed by ``handled()`` with their hint (who may do
what next) and exit code 1. ``press publish`` and ``press retract`` rebuild the static site
from :func:`pipeline.store.publications.site_entries` — the verified live publications only.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from pipeline.article import render
from pipeline.cli.common import console, current_settings, err_console, handled, open_index
from pipeline.errors import ConfigError
from pipeline.review import views
from pipeline.review.machine import Action, Role
from pipeline.review.workflow import Workflow
from pipeline.settings import Settings
from pipeline.store.db import Store
from pipeline.store.records import RevisionRecord
from pipeline.store.timestamps import iso

AsUser = Annotated[
    str | None,
    typer.Option("--as", help="Who acts (default: review.default_user, else the login name)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Comment = Annotated[str | None, typer.Option("--comment", "-m", help="Kept in the review log.")]
Slug = Annotated[str, typer.Argument(help="The article's slug (`press status` lists them).")]

users_app = typer.Typer(help="Manage who may author, review and publish.", no_args_is_help=True)
site_app = typer.Typer(help="The published static site.", no_args_is_help=True)


def acting_user(settings: Settings, as_user: str | None) -> str:
    """``--as USER``, else ``review.default_user``, else the login name."""
    if as_user:
        return as_user
    if settings.review.default_user:
        return settings.review.default_user
    try:
        return os.environ.get("USER") or getpass.getuser()
    except OSError as exc:  # no login name at all (some containers)
        raise ConfigError(
            "No acting user: no --as USER, no review.default_user and no login name",
            "Pass --as USER or set PRESS_REVIEW__DEFAULT_USER.",
        ) from exc


def workflow(settings: Settings) -> Workflow:
    """The workflow on the store the settings point at."""
    return Workflow(Store.from_settings(settings))


def draft_author(settings: Settings, as_user: str | None) -> str:
    """The user ``press draft`` stores as (checked before any drafting is paid for)."""
    return workflow(settings).draft_author(acting_user(settings, as_user)).name


def store_draft_run(settings: Settings, run: Any, author: str) -> RevisionRecord:
    """Store a :class:`~pipeline.draft.DraftRun` as a draft revision; prints one line."""
    flow = workflow(settings)
    before = flow.store.find_article(question=run.article.question, audience=run.article.audience)
    revision = flow.store_draft(author, run.article, run.evidence)
    record = flow.store.article(revision.article().slug)
    if before is not None and revision.id == before.state.revision_id:
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
    index: Any,
    parent: str,
    question: str,
    author: str,
    audience: str | None,
    use_llm: bool | None,
    filters: Any,
    k: int | None,
) -> Any:
    """Draft, store and link a follow-up of ``parent`` (``press draft --follow-up``); prints
    one line and returns the :class:`~pipeline.draft.DraftRun`."""
    from pipeline.review.follow_up import draft_follow_up
    done = draft_follow_up(
        settings,
        workflow(settings),
        index,
        parent,
        question,
        author,
        audience=audience,  # type: ignore[arg-type]
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
    _table(f"History of {slug}", ["at", "action", "actor", "revision", "status", "comment"], rows)


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


def _table(title: str, columns: list[str], rows: list[dict[str, Any]]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        cells = (row[c] for c in columns)
        table.add_row(*(Text(_cell(v)) for v in cells))  # Text: comments are not markup
    console.print(table)


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return ", ".join(value) if isinstance(value, list) else str(value or "")


# transitions -------------------------------------------------------------------------------


def _act(action: Action, slug: str, as_user: str | None, as_json: bool, **kwargs: Any) -> None:
    settings = current_settings()
    with handled():
        flow = workflow(settings)
        user = acting_user(settings, as_user)
        method = getattr(flow, action.verb)
        method(user, slug, **kwargs)
        if action in (Action.PUBLISH, Action.RETRACT):
            _rebuild_site(settings, flow.store)
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


def _rebuild_site(settings: Settings, store: Store) -> None:
    from pipeline.publish.rebuild import articles_phrase, rebuild_site
    report, problems = rebuild_site(settings, store, open_index(settings).embeddings)
    for problem in problems:
        err_console.print(f"[yellow]warning:[/] {escape(problem)}", highlight=False)
    err_console.print(
        f"site rebuilt: {report.site_dir} ({articles_phrase(report.articles)})", markup=False
    )


def site_build() -> None:
    """Rebuild the static site from every verified live publication."""
    settings = current_settings()
    with handled():
        _rebuild_site(settings, Store.from_settings(settings))


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
    from pipeline.article.parse import parse_article_markdown, read_markdown_file
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
    from pipeline.store.publications import stale_articles
    settings = current_settings()
    with handled():
        found = stale_articles(Store.from_settings(settings), open_index(settings).store.get)
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


# users -------------------------------------------------------------------------------------


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The user's name (letters, digits, . _ @ -).")],
    role: Annotated[list[Role], typer.Option("--role", help="Role to grant (repeatable).")],
    as_user: AsUser = None,
) -> None:
    """Add a user or grant roles (once an admin exists, only admins may)."""
    settings = current_settings()
    with handled():
        flow = workflow(settings)
        by = acting_user(settings, as_user) if flow.store.users() else None
        user = flow.add_user(name, [r.value for r in role], by=by)
    console.print(f"{user.name}: {', '.join(sorted(user.roles))}", highlight=False)


@users_app.command("list")
def users_list(as_json: AsJson = False) -> None:
    """Every user and their roles."""
    settings = current_settings()
    with handled():
        users = [
            {"name": u.name, "roles": sorted(u.roles), "since": iso(u.created_at)}
            for u in Store.from_settings(settings).users()
        ]
    if as_json:
        typer.echo(json.dumps(users, indent=2))
        return
    _table("Users", ["name", "roles", "since"], users)


site_app.command("build")(site_build)

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
