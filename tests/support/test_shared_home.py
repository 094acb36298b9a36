"""The shared-home guard (tests/support/shared_home.py) fails exactly the test that writes."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.support.shared_home import SharedHomes

INNER_TESTS = """
import pytest


@pytest.fixture(scope="module")
def home(tmp_path_factory, shared_homes):
    home = tmp_path_factory.mktemp("shared")
    (home / "index.db").write_text("built once")
    shared_homes.register(home)
    return home


def test_reads(home):
    assert (home / "index.db").read_text() == "built once"


def test_writes_a_user_into_the_shared_home(home):
    (home / "press.sqlite").write_text("a user")


def test_reads_again(home):
    assert (home / "index.db").read_text() == "built once"
"""


def test_a_test_that_writes_into_a_shared_home_fails_and_only_that_one(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_inner=INNER_TESTS)
    # In process, the guard module is already imported (and so not assertion-rewritten).
    result = pytester.runpytest_inprocess(
        "-p", "tests.support.shared_home", "-p", "no:cacheprovider",
        "-W", "ignore::pytest.PytestAssertRewriteWarning",
    )  # fmt: skip
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_writes_a_user_into_the_shared_home*",
            "*shared fixture home changed during this test*added press.sqlite*",
        ]
    )


def test_added_removed_and_changed_files_are_each_named_touches_are_not(tmp_path: Path) -> None:
    for name, text in [("kept", "same"), ("edited", "old"), ("gone", "x")]:
        (tmp_path / name).write_text(text)
    homes = SharedHomes()
    homes.register(tmp_path)
    assert homes.changes() == {}

    os.utime(tmp_path / "kept", ns=(1, 1))  # touched, same bytes (Chroma does this)
    (tmp_path / "edited").write_text("new text")
    (tmp_path / "gone").unlink()
    (tmp_path / "new").write_text("y")
    assert homes.changes() == {tmp_path: ["added new", "changed edited", "removed gone"]}
    assert homes.changes() == {}  # re-baselined: the next test is not blamed


def test_a_sqlite_checkpoint_is_not_a_write_but_a_new_row_is(tmp_path: Path) -> None:
    database = tmp_path / "passages.sqlite"
    writer = sqlite3.connect(database)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE t (x)")
    writer.execute("INSERT INTO t VALUES (1)")
    writer.commit()  # the row sits in passages.sqlite-wal while this connection is open
    homes = SharedHomes()
    homes.register(tmp_path)

    writer.close()  # the last connection checkpoints: both files change, no row does
    assert not (tmp_path / "passages.sqlite-wal").exists()
    assert homes.changes() == {}

    with closing(sqlite3.connect(database)) as again:
        again.execute("INSERT INTO t VALUES (2)")
        again.commit()
    assert homes.changes() == {tmp_path: ["changed passages.sqlite"]}
