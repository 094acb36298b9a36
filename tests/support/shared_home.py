"""A guard that fails the test that changes a home other tests share.

Session- and module-scoped fixtures build a press home once (the demo index, small corpora)
and many tests read it. A test that writes into one (a user, a stored draft, the LLM mode
memory) makes later tests depend on the order they run in. So every such fixture registers
its home with the session's :func:`shared_homes` registry (and forgets it at teardown), and
the autouse :func:`_shared_homes_unchanged` compares them after each test: a difference
fails that test at teardown, naming the files added, removed or changed, and the new state
becomes the baseline so only the guilty test fails.

Cheap first, exact second: each check is a stat per file (the demo home holds 16 files);
only a file whose size or modification time moved is read. Plain files compare by SHA-256
(Chroma rewrites its HNSW files, byte for byte the same, when a client closes). SQLite
databases compare by their logical content (``iterdump`` over a read-only connection), with
their ``-wal``/``-shm`` files folded in: a reader closing the last connection checkpoints
the WAL into the database, which changes both files and no row. Registered under
``pytest_plugins`` in ``tests/conftest.py``.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

Stats = dict[str, tuple[int, int]]
SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")
COMPANIONS = ("-wal", "-shm", "-journal")


def stats(root: Path) -> Stats:
    """Size and modification time of every file under ``root`` (by relative path).

    A SQLite companion file is folded into its database's entry (the sum of the sizes and
    the latest time), so a checkpoint shows as one changed database, not three files.
    """
    found: Stats = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            try:
                stat = path.stat()
            except FileNotFoundError:  # a -wal file removed while we walked
                continue
            key = path.relative_to(root).as_posix()
            for suffix in COMPANIONS:
                if key.endswith(suffix):
                    key = key[: -len(suffix)]
            size, mtime = found.get(key, (0, 0))
            found[key] = (size + stat.st_size, max(mtime, stat.st_mtime_ns))
    return found


def content(path: Path) -> str:
    """A digest of what ``path`` holds: its rows for a SQLite database, else its bytes."""
    digest = hashlib.sha256()
    if path.suffix in SQLITE_SUFFIXES:
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            for line in connection.iterdump():
                digest.update(line.encode())
            return digest.hexdigest()
        except sqlite3.DatabaseError:  # named like a database, but is not one
            digest = hashlib.sha256()
        finally:
            connection.close()
    digest.update(path.read_bytes())
    return digest.hexdigest()


def differences(before: Stats, after: Stats) -> list[str]:
    """Which files differ between two stat fingerprints, one line a file, sorted."""
    lines = [f"added {name}" for name in after.keys() - before.keys()]
    lines += [f"removed {name}" for name in before.keys() - after.keys()]
    lines += [
        f"changed {name}" for name in before.keys() & after.keys() if before[name] != after[name]
    ]
    return sorted(lines)


@dataclass
class Home:
    """One watched home: its stats and the content digest of every file at the baseline."""

    root: Path
    stats: Stats
    digests: dict[str, str]

    @classmethod
    def of(cls, root: Path) -> Home:
        """The current state of ``root``."""
        now = stats(root)
        return cls(root, now, {name: content(root / name) for name in now})

    def changes(self) -> list[str]:
        """What differs from the baseline (by content); the baseline moves to now."""
        now = stats(self.root) if self.root.exists() else {}
        lines = []
        for line in differences(self.stats, now):
            verb, name = line.split(" ", 1)
            if verb == "changed" and content(self.root / name) == self.digests[name]:
                continue  # touched, same content: not a write
            lines.append(line)
        if lines:
            fresh = Home.of(self.root) if self.root.exists() else Home(self.root, {}, {})
            self.stats, self.digests = fresh.stats, fresh.digests
        else:
            self.stats = now
        return lines


@dataclass
class SharedHomes:
    """The registered shared homes."""

    homes: dict[Path, Home] = field(default_factory=dict)

    def register(self, root: Path) -> None:
        """Start watching ``root`` from its current state."""
        self.homes[root] = Home.of(root)

    def forget(self, root: Path) -> None:
        """Stop watching ``root`` (its fixture is torn down; its objects may close late)."""
        self.homes.pop(root, None)

    def changes(self) -> dict[Path, list[str]]:
        """Every watched home whose content changed since the last look."""
        changed = {root: home.changes() for root, home in self.homes.items()}
        return {root: lines for root, lines in changed.items() if lines}


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
