"""Timestamps as timezone-aware UTC datetimes, stored at one precision on every engine.

Every time column of the article store and the passage DB is a :class:`UTCDateTime`: a
``TIMESTAMP WITH TIME ZONE`` on PostgreSQL and SQLite's ``DATETIME`` (text in SQLAlchemy's
fixed ``YYYY-MM-DD HH:MM:SS.ffffff`` layout, in UTC, so text order is time order) on SQLite.
Reads return aware datetimes in UTC whatever the engine; writes take an aware datetime or an
ISO-8601 string (what :func:`utc_now` returns), normalised to UTC and
microseconds. Naive values are refused: a time without a zone is a bug in the caller.

Before migration ``m006`` these columns were strings written at three precisions (seconds,
milliseconds, microseconds, all ``…+00:00``); :func:`parse` reads all three, so the
migration converts them in place. :func:`iso` is the one way a stored time becomes text
again (JSON, pages, the CLI): ``2026-01-05T09:30:00.000000+00:00``-style ISO with
microseconds, which is exactly what ``utc_now`` wrote before, so published output of existing
stores does not change.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect
from sqlalchemy.types import TypeDecorator


def utc_now() -> str:
    """The current time as an ISO-8601 UTC timestamp (microseconds, so log order is visible)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def parse(value: datetime | str) -> datetime:
    """An aware UTC datetime from an aware datetime or an ISO-8601 string with a zone.

    Raises :class:`ValueError` for a naive value or text that is not ISO-8601.
    """
    stamp = datetime.fromisoformat(value.strip()) if isinstance(value, str) else value
    if stamp.tzinfo is None or stamp.utcoffset() is None:
        raise ValueError(f"timestamp {value!r} has no time zone; write UTC, e.g. utc_now()")
    return stamp.astimezone(UTC)


def iso(value: datetime) -> str:
    """The stored time as ISO-8601 text with microseconds and ``+00:00``."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime column (see the module docstring)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        """Aware UTC on PostgreSQL; the same instant without ``tzinfo`` on SQLite."""
        if value is None:
            return None
        stamp = parse(value)
        return stamp.replace(tzinfo=None) if dialect.name == "sqlite" else stamp

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Always aware, always UTC."""
        if value is None:
            return None
        stamp: datetime = value
        return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
