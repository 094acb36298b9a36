"""The build key each article's current revision was last confirmed under (``build_state``).

A build compares the key it expects now with the provenance of an article's current revision
(:mod:`pipeline.build.cache`). When a re-draft produces exactly the current text, the
workflow keeps the existing (immutable) revision — and its approval — whose provenance still
records the older inputs; this table (migration ``m004_build_state``) then records the key
that revision was confirmed under, so the next build finds it unchanged instead of paying for
the same draft again. One row per article: confirming a new key replaces the old row.

Kept apart from :class:`~pipeline.store.db.Store` like :mod:`pipeline.store.follow_ups`:
only builds read or write it, and it goes through the store's own read, write (``BEGIN
IMMEDIATE`` on SQLite) and error handling.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, delete, insert, select

from pipeline.store.db import Store
from pipeline.store.schema import build_state


def confirmed_key(store: Store, article_id: int, revision_id: int) -> str | None:
    """The key digest a build confirmed for this revision of the article, if any."""
    table = build_state
    query = select(table.c.build_key).where(
        and_(table.c.article_id == article_id, table.c.revision_id == revision_id)
    )
    with store._read() as conn:
        return conn.execute(query).scalar_one_or_none()


def confirm_key(store: Store, article_id: int, revision_id: int, digest: str) -> None:
    """Record that ``revision_id`` is what the inputs of key ``digest`` produce."""
    table = build_state
    at = datetime.now(UTC)
    with store._errors("record the build key"), store._write() as conn:
        conn.execute(delete(table).where(table.c.article_id == article_id))
        conn.execute(
            insert(table).values(
                article_id=article_id, revision_id=revision_id, build_key=digest, updated_at=at
            )
        )
