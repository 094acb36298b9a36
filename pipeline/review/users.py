"""Managing who may act: add a user, disable, enable, remove one, change their roles.

User names are letters, digits and ``. _ @ -`` (:data:`USER_NAME`). Only an admin may do any
of this — adding users too, once the store has an admin — and nobody may take the last
active admin away. Every change that narrows what a user may do ends their desk sessions at once
(:class:`~pipeline.store.sessions.Sessions`), so a browser that is still signed in cannot
keep using rights the user no longer has; a role *grant* ends them too, so each session's
rights are always the ones its sign-in saw.

A removed user keeps their row (revisions and the review log name them) but loses their
roles and their password, and their name cannot be used again; a disabled user keeps both
and can be enabled again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from sqlalchemy import and_, delete, insert, select, update

from pipeline.errors import PermissionDenied, ReviewError
from pipeline.review.machine import Role
from pipeline.store import schema
from pipeline.store.db import Store
from pipeline.store.records import User
from pipeline.store.sessions import Sessions
from pipeline.store.timestamps import utc_now

USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
"""Allowed user names: letters, digits and ``. _ @ -``, up to 100 characters."""


class UserAdmin:
    """Adding users and admin-only changes to them, each ending the user's sessions."""

    def __init__(self, store: Store, *, clock: Callable[[], str] = utc_now) -> None:
        self.store = store
        self.clock = clock

    def add(self, name: str, roles: Iterable[str], *, by: str | None = None) -> User:
        """Create ``name`` (or grant more roles). Once an admin exists only admins may do this;
        before that anyone may (someone has to create the first admin)."""
        wanted = set(roles)
        unknown = wanted - set(Role.__members__.values())
        if not USER_NAME.match(name) or unknown or not wanted:
            raise ReviewError(
                f"Cannot add user {name!r} with roles {sorted(wanted)}",
                "Names use letters, digits and . _ @ -; roles are "
                + ", ".join(r.value for r in Role)
                + ".",
            )
        admins = [u.name for u in self.store.users() if Role.ADMIN in u.roles]
        actor = self.store.find_user(by) if by is not None else None
        if admins and (actor is None or Role.ADMIN not in actor.roles):
            raise PermissionDenied(
                f"Only an admin may add users or grant roles (admins: {', '.join(admins)})",
                f"Ask an admin to run `press users add {name} --role … --as ADMIN`.",
            )
        existing = self.store.find_user(name)
        if existing is not None and existing.status == "removed":
            raise ReviewError(f"{name} was removed", "Add the user under a new name instead.")
        at = self.clock()
        user = self.store.add_user(
            name, wanted, granted_by=None if actor is None else actor.id, at=at
        )
        if existing is not None and user.roles != existing.roles:
            Sessions(self.store).end_for_user(name, reason="roles changed", at=at)
        return user

    def disable(self, name: str, *, by: str) -> User:
        """Stop ``name`` from signing in or acting (reversible with :meth:`enable`)."""
        return self._set_status(name, "disabled", by=by)

    def enable(self, name: str, *, by: str) -> User:
        """Let a disabled user sign in and act again."""
        return self._set_status(name, "active", by=by)

    def remove(self, name: str, *, by: str) -> User:
        """Remove ``name`` for good: no roles, no password, no sessions; history kept."""
        user = self._checked(name, by, narrowing=True)
        with self.store._errors("remove a user"), self.store._write() as conn:
            conn.execute(delete(schema.user_roles).where(schema.user_roles.c.user_id == user.id))
            conn.execute(delete(schema.credentials).where(schema.credentials.c.user_id == user.id))
            conn.execute(
                update(schema.users).where(schema.users.c.id == user.id).values(status="removed")
            )
        Sessions(self.store).end_for_user(name, reason="user removed", at=self.clock())
        return self.store.user(name)

    def set_roles(
        self, name: str, *, add: Iterable[str] = (), drop: Iterable[str] = (), by: str
    ) -> User:
        """Grant ``add`` and take away ``drop``; ends the user's sessions."""
        add, drop = set(add), set(drop)
        unknown = (add | drop) - set(Role.__members__.values())
        if unknown or not (add | drop):
            raise ReviewError(
                f"Cannot change the roles of {name!r}: {sorted(unknown) or 'no role given'}",
                "Roles are " + ", ".join(r.value for r in Role) + ".",
            )
        user = self._checked(name, by, narrowing=Role.ADMIN.value in drop)
        if user.status == "removed":
            raise ReviewError(f"{name} was removed", "Add a user under a new name instead.")
        actor = self.store.user(by)
        at = self.clock()
        with self.store._errors("change roles"), self.store._write() as conn:
            table = schema.user_roles
            held = set(conn.scalars(select(table.c.role).where(table.c.user_id == user.id)))
            for role in sorted(add - held):
                conn.execute(
                    insert(table).values(
                        user_id=user.id, role=role, granted_by=actor.id, granted_at=at
                    )
                )
            if drop:
                conn.execute(
                    delete(table).where(and_(table.c.user_id == user.id, table.c.role.in_(drop)))
                )
        Sessions(self.store).end_for_user(name, reason="roles changed", at=at)
        return self.store.user(name)

    def require_admin(self, by: str) -> None:
        """Raise :class:`PermissionDenied` unless ``by`` is an active admin."""
        self._checked(by, by, narrowing=False)

    def _set_status(self, name: str, status: str, *, by: str) -> User:
        user = self._checked(name, by, narrowing=status != "active")
        if user.status == "removed":
            raise ReviewError(f"{name} was removed", "Add a user under a new name instead.")
        with self.store._errors("change a user"), self.store._write() as conn:
            conn.execute(
                update(schema.users).where(schema.users.c.id == user.id).values(status=status)
            )
        if status != "active":
            Sessions(self.store).end_for_user(name, reason=f"user {status}", at=self.clock())
        return self.store.user(name)

    def _checked(self, name: str, by: str, *, narrowing: bool) -> User:
        """The target user, after checking ``by`` is an active admin and, when the change
        narrows an admin's rights, that another active admin remains."""
        actor = self.store.user(by)
        admins = [u for u in self.store.users() if Role.ADMIN in u.roles and u.active]
        if Role.ADMIN not in actor.roles or not actor.active:
            names = ", ".join(u.name for u in admins) or "none"
            raise PermissionDenied(
                f"Only an admin may change users (admins: {names})",
                f"Ask an admin to do it (`press users … {name} --as ADMIN`).",
            )
        user = self.store.user(name)
        if narrowing and Role.ADMIN in user.roles and [u.name for u in admins] == [user.name]:
            raise PermissionDenied(
                f"{name} is the last active admin",
                "Make another user admin first (`press users role NAME --add admin`).",
            )
        return user
