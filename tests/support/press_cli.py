"""The ``press`` command line on the shared demo index, for CLI, reliability and security tests.

``demo_home`` points ``PRESS_HOME`` at the session's demo index and gives the test a store
and an outputs folder of its own under ``tmp_path`` (so a command that stores a draft writes
nothing into the shared home). ``staffed_home`` does the same and registers an author, a
reviewer, a publisher and an admin. :func:`press` runs one command in process and returns
typer's result (stdout and stderr apart).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from pipeline.cli.app import app
from pipeline.index import Index
from pipeline.settings import Settings

STAFF = [("ann", "author"), ("rex", "reviewer"), ("pam", "publisher"), ("ada", "admin")]
_runner = CliRunner()


def press(args: list[str]) -> Result:
    """Run ``press ARGS`` in process."""
    return _runner.invoke(app, args)


def ok(args: list[str]) -> Result:
    """Run ``press ARGS`` and assert it succeeded."""
    result = press(args)
    assert result.exit_code == 0, (args, result.stdout, result.stderr, result.exception)
    return result


@pytest.fixture
def staffed_home(
    demo: tuple[Settings, Index], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Path:
    """The demo index with this test's own store and outputs; returns the outputs folder."""
    settings, _ = demo
    monkeypatch.setenv("PRESS_HOME", str(settings.home))
    monkeypatch.setenv("PRESS_STORE__URL", f"sqlite:///{tmp_path / 'press.sqlite'}")
    monkeypatch.setenv("PRESS_OUTPUTS", str(tmp_path / "out"))
    for name, role in STAFF:
        ok(["users", "add", name, "--role", role, "--as", "ada"])
    return tmp_path / "out"


@pytest.fixture
def demo_home(
    demo: tuple[Settings, Index], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Settings:
    """The demo index as ``PRESS_HOME``, with this test's own store and outputs."""
    settings, _ = demo
    monkeypatch.setenv("PRESS_HOME", str(settings.home))
    monkeypatch.setenv("PRESS_STORE__URL", f"sqlite:///{tmp_path / 'press.sqlite'}")
    monkeypatch.setenv("PRESS_OUTPUTS", str(tmp_path / "out"))
    return settings
