"""A guard that fails the test that changes a home other tests share.

Session- and module-scoped fixtures build a press home once (the demo index, small corpora)
and many tests read it. A test that writes into one (a user, a stored draft, a re-ingest)
makes later tests depend on the order they run in. So every such fixture registers its
home with the session's :func:`shared_homes` registry, which records a fingerprint of its
files, and the autouse :func:`_shared_homes_unchanged` compares them after each test:
a difference fails that test at teardown, naming the files added, removed or changed, and
the new state becomes the baseline so only the guilty test fails.

The fingerprint is each file's size and modification time (a stat per file: the demo home
holds 16 files, so the check costs well under a millisecond a test). SQLite's ``-shm``
files are left out: readers of a WAL database update that shared-memory index, so it
changes without anyone writing; a write shows in the ``-wal`` file and the database itself.
Registered under ``pytest_plugins`` in ``tests/conftest.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

Fingerprint = dict[str, tuple[int, int]]


def fingerprint(root: Path) -> Fingerprint:
    """Size and modification time of every file under ``root`` (by relative path)."""
    found: Fingerprint = {}
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith("-shm"):
                continue
            path = Path(folder) / name
            stat = path.stat()
            found[path.relative_to(root).as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return found


def differences(before: Fingerprint, after: Fingerprint) -> list[str]:
    """What changed between two fingerprints, one line a file, sorted."""
    lines = [f"added {name}" for name in after.keys() - before.keys()]
    lines += [f"removed {name}" for name in before.keys() - after.keys()]
    lines += [
        f"changed {name}" for name in before.keys() & after.keys() if before[name] != after[name]
    ]
    return sorted(lines)


@dataclass
class SharedHomes:
    """The registered shared homes and their last known fingerprints."""

    baselines: dict[Path, Fingerprint] = field(default_factory=dict)

    def register(self, home: Path) -> None:
        """Start watching ``home`` from its current state."""
        self.baselines[home] = fingerprint(home)

    def changes(self) -> dict[Path, list[str]]:
        """Every watched home that changed since its baseline; re-baselines those homes."""
        changed: dict[Path, list[str]] = {}
        for home, before in self.baselines.items():
            after = fingerprint(home) if home.exists() else {}
            lines = differences(before, after)
            if lines:
                changed[home] = lines
                self.baselines[home] = after
        return changed


@pytest.fixture(scope="session")
def shared_homes() -> SharedHomes:
    """The session's registry: a fixture that builds a shared home calls ``register``."""
    return SharedHomes()


def _fail(when: str, changed: dict[Path, list[str]]) -> None:
    report = "; ".join(f"{home}: {', '.join(lines)}" for home, lines in changed.items())
    pytest.fail(
        f"a shared fixture home changed {when} ({report}); give the writer a home of its "
        "own (tmp_path, or the demo_home/staffed_home fixtures with their own store)",
        pytrace=False,
    )


@pytest.fixture(autouse=True)
def _shared_homes_unchanged(shared_homes: SharedHomes) -> Iterator[None]:
    """Fail the test at teardown if it changed a registered shared home.

    Session and module fixtures are set up before this one, so a home they build and
    register is the baseline; a change seen at setup was made between tests (by another
    fixture's teardown) and fails there.
    """
    changed = shared_homes.changes()
    if changed:
        _fail("between tests", changed)
    yield
    changed = shared_homes.changes()
    if changed:
        _fail("during this test", changed)
