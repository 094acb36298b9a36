"""``press users add|list|disable|enable|remove|role|sessions`` and ``press acknowledge``.

User changes are admin-only and end the user's desk sessions at once
(:class:`pipeline.review.users.UserAdmin`); ``sessions`` lists open desk sessions and, with
``--revoke``, ends them. ``acknowledge`` records a reviewer's reason for letting a flagged
check stand (the publish gate, :mod:`pipeline.review.gate`). The ``press users`` group is
defined here; ``press users password`` joins it from :mod:`pipeline.cli.serve`.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from pipeline.cli.acting import AsJson, AsUser, acting_user, workflow
from pipeline.cli.common import console, current_settings, handled, print_table
from pipeline.review.machine import Role
from pipeline.review.users import UserAdmin
from pipeline.store.db import Store
from pipeline.store.sessions import Sessions
from pipeline.store.timestamps import iso, utc_now

Name = Annotated[str, typer.Argument(help="The user's name.")]

users_app = typer.Typer(help="Manage who may author, review and publish.", no_args_is_help=True)


def _admin(as_user: str | None) -> tuple[UserAdmin, str]:
    settings = current_settings()
    return UserAdmin(Store.from_settings(settings)), acting_user(settings, as_user)


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
    print_table("Users", ["name", "roles", "since"], users)


def users_disable(name: Name, as_user: AsUser = None) -> None:
    """Stop a user from signing in or acting (their sessions end now)."""
    with handled():
        admin, by = _admin(as_user)
        admin.disable(name, by=by)
    console.print(f"{name}: disabled; their sessions ended", highlight=False, markup=False)


def users_enable(name: Name, as_user: AsUser = None) -> None:
    """Let a disabled user sign in and act again."""
    with handled():
        admin, by = _admin(as_user)
        admin.enable(name, by=by)
    console.print(f"{name}: enabled", highlight=False, markup=False)


def users_remove(name: Name, as_user: AsUser = None) -> None:
    """Remove a user for good (roles, password, sessions; their history stays)."""
    with handled():
        admin, by = _admin(as_user)
        admin.remove(name, by=by)
    console.print(f"{name}: removed; their sessions ended", highlight=False, markup=False)


def users_role(
    name: Name,
    add: Annotated[list[Role] | None, typer.Option("--add", help="Role to grant.")] = None,
    drop: Annotated[list[Role] | None, typer.Option("--remove", help="Role to take away.")] = None,
    as_user: AsUser = None,
) -> None:
    """Grant or take away roles (the user's sessions end, so they sign in again)."""
    with handled():
        admin, by = _admin(as_user)
        user = admin.set_roles(
            name, add=[r.value for r in add or []], drop=[r.value for r in drop or []], by=by
        )
    roles = ", ".join(sorted(user.roles)) or "no role"
    console.print(f"{name}: {roles}; their sessions ended", highlight=False, markup=False)


def users_sessions(
    name: Annotated[str | None, typer.Argument(help="Only this user's sessions.")] = None,
    revoke: Annotated[bool, typer.Option("--revoke", help="End the sessions listed.")] = False,
    as_json: AsJson = False,
    as_user: AsUser = None,
) -> None:
    """Open desk sessions (of one user, or everyone's); ``--revoke`` ends them."""
    settings = current_settings()
    with handled():
        store = Store.from_settings(settings)
        sessions = Sessions(store)
        rows = sessions.list(name)
        if revoke:
            by = acting_user(settings, as_user)
            UserAdmin(store).require_admin(by)
            for user in sorted({row.user for row in rows}):
                sessions.end_for_user(user, reason=f"revoked by {by}", at=utc_now())
    data = [
        {
            "user": r.user,
            "signed_in": iso(r.created_at),
            "last_seen": iso(r.last_seen_at),
            "address": r.address,
            "user_agent": r.user_agent,
        }
        for r in rows
    ]
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    for row in data:
        console.print(
            f"{row['user']}  signed in {row['signed_in'][:19]}  last seen {row['last_seen'][:19]}"
            f"  {row['address']}  {row['user_agent'][:60]}",
            highlight=False,
            markup=False,
        )
    verb = "ended" if revoke else "open"
    console.print(f"{len(data)} session(s) {verb}", highlight=False, markup=False)


def acknowledge(
    slug: Annotated[str, typer.Argument(help="The article.")],
    check: Annotated[int, typer.Option("--check", help="The flagged check's number.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the flagged sentence may stand.")],
    as_user: AsUser = None,
) -> None:
    """Let a flagged check stand, with the reason (a reviewer who did not write it)."""
    settings = current_settings()
    with handled():
        workflow(settings).acknowledge(
            acting_user(settings, as_user), slug, check=check, comment=reason
        )
    console.print(f"{slug}: check {check} acknowledged", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    """Add ``acknowledge`` to ``app`` and the user-management commands to ``press users``."""
    app.command("acknowledge")(acknowledge)
    users_app.command("disable")(users_disable)
    users_app.command("enable")(users_enable)
    users_app.command("remove")(users_remove)
    users_app.command("role")(users_role)
    users_app.command("sessions")(users_sessions)
