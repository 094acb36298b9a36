"""The shared-home guard (tests/support/shared_home.py) fails exactly the test that writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.shared_home import SharedHomes, differences, fingerprint

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


def test_added_removed_and_changed_files_are_each_named(tmp_path: Path) -> None:
    (tmp_path / "kept").write_text("same")
    (tmp_path / "edited").write_text("old")
    (tmp_path / "gone").write_text("x")
    (tmp_path / "index.sqlite-shm").write_text("readers touch this")
    homes = SharedHomes()
    homes.register(tmp_path)
    assert homes.changes() == {}

    (tmp_path / "edited").write_text("new text")
    (tmp_path / "gone").unlink()
    (tmp_path / "new").write_text("y")
    (tmp_path / "index.sqlite-shm").write_text("read again, not a write")
    assert homes.changes() == {tmp_path: ["added new", "changed edited", "removed gone"]}
    assert homes.changes() == {}  # re-baselined: the next test is not blamed


def test_differences_of_equal_fingerprints_are_empty(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("a")
    assert differences(fingerprint(tmp_path), fingerprint(tmp_path)) == []
