"""The ``press`` command line on the shared demo index, for CLI, reliability and security tests.

``demo_home`` points ``PRESS_HOME`` at a copy of the session's demo home and gives the test
a store and an outputs folder of its own under ``tmp_path`` (``press`` writes into its home:
the LLM mode memory, stored drafts; the shared home stays as built). ``staffed_home`` does
the same and registers an author, a reviewer, a publisher and an admin. :func:`press` runs
one command in process and returns typer's result (stdout and stderr apart).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from pipeline.cli.app import app
from pipeline.index.hybrid import Index
from pipeline.settings.load import Settings
from tests.support.demo_index import copy_demo_home

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
    monkeypatch.setenv("PRESS_HOME", str(copy_demo_home(settings.home, tmp_path / "home")))
    monkeypatch.setenv("PRESS_STORE__URL", f"sqlite:///{tmp_path / 'press.sqlite'}")
    monkeypatch.setenv("PRESS_OUTPUTS", str(tmp_path / "out"))
    for name, role in STAFF:
        ok(["users", "add", name, "--role", role, "--as", "ada"])
    return tmp_path / "out"


@pytest.fixture
def demo_home(
    demo: tuple[Settings, Index], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Settings:
    """A copy of the demo home as ``PRESS_HOME``, with this test's own store and outputs."""
    settings, _ = demo
    monkeypatch.setenv("PRESS_HOME", str(copy_demo_home(settings.home, tmp_path / "home")))
    monkeypatch.setenv("PRESS_STORE__URL", f"sqlite:///{tmp_path / 'press.sqlite'}")
    monkeypatch.setenv("PRESS_OUTPUTS", str(tmp_path / "out"))
    return settings
