"""Aware UTC timestamps: one stored precision, and text output that did not change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from pipeline.store.db import Store
from pipeline.store.publications import site_entries
from pipeline.store.timestamps import iso, parse, utc_now
from tests.support.review_factories import make_article, staffed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-05T09:30:00.123456+00:00", datetime(2026, 1, 5, 9, 30, 0, 123456, tzinfo=UTC)),
        ("2026-01-05T09:30:00.123+00:00", datetime(2026, 1, 5, 9, 30, 0, 123000, tzinfo=UTC)),
        ("2026-01-05T09:30:00+00:00", datetime(2026, 1, 5, 9, 30, tzinfo=UTC)),
        ("2026-01-05T10:30:00+01:00", datetime(2026, 1, 5, 9, 30, tzinfo=UTC)),
    ],
)
def test_every_precision_and_zone_parses_to_the_same_utc_instant(
    text: str, expected: datetime
) -> None:
    assert parse(text) == expected and parse(text).tzinfo is UTC


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        parse("2026-01-05T09:30:00")
    with pytest.raises(ValueError, match="no time zone"):
        parse(datetime(2026, 1, 5))


def test_iso_is_what_utc_now_writes() -> None:
    now = utc_now()
    assert iso(parse(now)) == now
    assert iso(datetime(2026, 1, 5, 10, 30, tzinfo=timezone(timedelta(hours=1)))) == (
        "2026-01-05T09:30:00.000000+00:00"
    )


def test_published_times_come_out_exactly_as_the_workflow_wrote_them(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'press.sqlite'}")
    handed: list[str] = []

    def clock() -> str:  # distinct microseconds, as utc_now writes them
        handed.append(f"2026-01-05T09:{len(handed):02d}:00.{len(handed) + 1:06d}+00:00")
        return handed[-1]

    flow = staffed(store)
    flow.clock = clock
    slug = flow.store_draft("ann", *make_article()).article().slug
    flow.submit("ann", slug)
    flow.start_review("rex", slug)
    flow.approve("rex", slug)
    flow.publish("pam", slug)
    [entry], problems = site_entries(store)
    assert problems == []
    assert entry.approved_at in handed and entry.published_at in handed
    assert entry.approved_at < entry.published_at
    log = store.log()
    assert [e.created_at for e in log] == sorted(e.created_at for e in log)
    assert all(e.created_at.tzinfo is UTC for e in log)
    store.close()
