"""Web-desk passwords in the store's ``credentials`` table (migration m003).

One row per user who may sign in: the password *hash* (argon2, computed by
:mod:`pipeline.web.auth`; this module never sees a password) and when it was set. Kept apart
from :class:`~pipeline.store.db.Store` so the core store stays about articles and reviews; it
uses the store's engine and its read/write helpers, so SQLite locking and error messages
are the same.
"""

from __future__ import annotations

from sqlalchemy import insert, select, update

from pipeline.store import schema
from pipeline.store.db import Store


class Credentials:
    """Read and write password hashes of the users of one :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def password_hash(self, name: str) -> str | None:
        """The stored hash of user ``name``'s password, or ``None`` (no user or no password)."""
        users, creds = schema.users, schema.credentials
        query = (
            select(creds.c.password_hash)
            .join(users, users.c.id == creds.c.user_id)
            .where(users.c.name == name)
        )
        with self.store._read() as conn:
            return conn.scalar(query)

    def set_password_hash(self, name: str, password_hash: str, *, at: str) -> None:
        """Store (or replace) user ``name``'s password hash; :class:`NotFoundError` if unknown."""
        user = self.store.user(name)
        creds = schema.credentials
        with self.store._errors("store a password"), self.store._write() as conn:
            found = conn.execute(select(creds.c.user_id).where(creds.c.user_id == user.id)).first()
            values = {"password_hash": password_hash, "updated_at": at}
            if found is None:
                conn.execute(insert(creds).values(user_id=user.id, **values))
            else:
                conn.execute(update(creds).where(creds.c.user_id == user.id).values(**values))

    def names(self) -> list[str]:
        """Users who have a password (may sign in to the web desk), by name."""
        users, creds = schema.users, schema.credentials
        query = (
            select(users.c.name).join(creds, users.c.id == creds.c.user_id).order_by(users.c.name)
        )
        with self.store._read() as conn:
            return list(conn.scalars(query))
