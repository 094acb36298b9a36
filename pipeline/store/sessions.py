"""Server-side desk sessions in the store's ``sessions`` table (migration m005).

A sign-in writes one row: who, when, from which address and user agent. The browser's cookie
carries only a random token; the row keeps its SHA-256, so a copy of the table cannot be
replayed as cookies. A session is valid while its row is not ended, its user is active,
it was seen within the idle timeout and started within the absolute timeout. Ending rows
(logout, password change, a role change, disabling or removing the user) takes effect on
the very next request, whatever copies of the cookie exist.

Kept apart from :class:`~pipeline.store.db.Store` like :mod:`pipeline.store.credentials`: it
uses the store's engine and its read/write helpers.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, insert, select, update

from pipeline.store import schema
from pipeline.store.db import Store
from pipeline.store.records import User
from pipeline.store.rows import user_record
from pipeline.store.timestamps import parse

TOUCH_EVERY_S = 30
"""``last_seen_at`` is written at most this often per session (not on every request)."""


@dataclass(frozen=True)
class SessionRecord:
    """One sign-in as the store keeps it (never the token itself)."""

    id: int
    user: str
    created_at: datetime
    last_seen_at: datetime
    address: str
    user_agent: str
    ended_at: datetime | None
    end_reason: str | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Sessions:
    """Start, look up, list and end the desk sessions of one :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def start(self, user: User, *, address: str, user_agent: str, at: str) -> str:
        """Record a new sign-in of ``user``; returns the token for the cookie."""
        token = secrets.token_urlsafe(32)
        with self.store._errors("start a session"), self.store._write() as conn:
            conn.execute(
                insert(schema.sessions).values(
                    token_hash=_digest(token),
                    user_id=user.id,
                    created_at=at,
                    last_seen_at=at,
                    address=address[:100],
                    user_agent=user_agent[:300],
                )
            )
        return token

    def user(self, token: str, *, at: str, idle_s: float, max_age_s: float) -> User | None:
        """The active user of a valid session ``token``, else ``None`` (and an expired
        session is ended, with the reason). Touches ``last_seen_at``."""
        table = schema.sessions
        with self.store._errors("read a session"), self.store._write() as conn:
            row = conn.execute(select(table).where(table.c.token_hash == _digest(token))).first()
            if row is None or row.ended_at is not None:
                return None
            now = parse(at)
            expired = None
            if now - row.created_at > timedelta(seconds=max_age_s):
                expired = "absolute timeout"
            elif now - row.last_seen_at > timedelta(seconds=idle_s):
                expired = "idle timeout"
            if expired is not None:
                conn.execute(
                    update(table)
                    .where(table.c.id == row.id)
                    .values(ended_at=at, end_reason=expired)
                )
                return None
            user_row = conn.execute(
                select(schema.users).where(schema.users.c.id == row.user_id)
            ).first()
            if user_row is None or user_row._mapping["status"] != "active":
                return None
            if now - row.last_seen_at > timedelta(seconds=TOUCH_EVERY_S):
                conn.execute(update(table).where(table.c.id == row.id).values(last_seen_at=at))
            return user_record(conn, user_row._mapping)

    def current_id(self, token: str) -> int | None:
        """The row id of session ``token`` (to mark "this session" in a list)."""
        table = schema.sessions
        with self.store._read() as conn:
            found = conn.scalar(select(table.c.id).where(table.c.token_hash == _digest(token)))
        return None if found is None else int(found)

    def end(self, token: str, *, reason: str, at: str) -> None:
        """End the session ``token`` (sign-out)."""
        table = schema.sessions
        with self.store._errors("end a session"), self.store._write() as conn:
            conn.execute(
                update(table)
                .where(and_(table.c.token_hash == _digest(token), table.c.ended_at.is_(None)))
                .values(ended_at=at, end_reason=reason)
            )

    def end_for_user(self, name: str, *, reason: str, at: str, keep: str | None = None) -> int:
        """End every open session of user ``name`` (but the one with token ``keep``)."""
        user = self.store.user(name)
        table = schema.sessions
        where = and_(table.c.user_id == user.id, table.c.ended_at.is_(None))
        if keep is not None:
            where = and_(where, table.c.token_hash != _digest(keep))
        with self.store._errors("end sessions"), self.store._write() as conn:
            result = conn.execute(update(table).where(where).values(ended_at=at, end_reason=reason))
            return int(result.rowcount or 0)

    def list(self, name: str | None = None, *, open_only: bool = True) -> list[SessionRecord]:
        """Sessions (of ``name``, or everyone's), newest first; open ones only by default."""
        table, users = schema.sessions, schema.users
        query = (
            select(table, users.c.name.label("user"))
            .join(users, users.c.id == table.c.user_id)
            .order_by(table.c.id.desc())
        )
        if name is not None:
            query = query.where(users.c.name == name)
        if open_only:
            query = query.where(table.c.ended_at.is_(None))
        with self.store._read() as conn:
            return [
                SessionRecord(
                    id=row.id,
                    user=row.user,
                    created_at=row.created_at,
                    last_seen_at=row.last_seen_at,
                    address=row.address,
                    user_agent=row.user_agent,
                    ended_at=row.ended_at,
                    end_reason=row.end_reason,
                )
                for row in conn.execute(query)
            ]
