"""``press users disable|enable|remove|role|sessions`` and ``press acknowledge`` end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.settings.load import load_settings
from pipeline.store.db import Store
from pipeline.store.sessions import Sessions


def press(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout + result.stderr


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PRESS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PRESS_STORE__URL", raising=False)
    assert press("users", "add", "ada", "--role", "admin")[0] == 0
    assert press("users", "add", "rex", "--role", "reviewer", "--as", "ada")[0] == 0
    return tmp_path / "home"


def _store() -> Store:
    return Store.from_settings(load_settings())


def test_disable_enable_remove_and_roles_from_the_command_line(home: Path) -> None:
    store = _store()
    Sessions(store).start(
        store.user("rex"), address="10.0.0.1", user_agent="UA", at="2026-01-01T00:00:00+00:00"
    )
    code, out = press("users", "sessions", "--as", "ada")
    assert code == 0 and "rex" in out and "1 session(s) open" in out
    assert press("users", "disable", "rex", "--as", "rex")[0] != 0  # only an admin may
    code, out = press("users", "disable", "rex", "--as", "ada")
    assert code == 0 and "sessions ended" in out
    assert Sessions(store).list("rex") == []
    assert _store().user("rex").status == "disabled"
    assert press("users", "enable", "rex", "--as", "ada")[0] == 0
    code, out = press(
        "users", "role", "rex", "--add", "editor", "--remove", "reviewer", "--as", "ada"
    )
    assert code == 0 and "editor" in out and "reviewer" not in out.split(";")[0]
    assert press("users", "remove", "rex", "--as", "ada")[0] == 0
    assert _store().user("rex").status == "removed"
    assert press("users", "remove", "ada", "--as", "ada")[0] != 0  # the last admin stays


def test_sessions_revoke(home: Path) -> None:
    store = _store()
    for _ in range(2):
        Sessions(store).start(
            store.user("rex"), address="10.0.0.1", user_agent="UA", at="2026-01-01T00:00:00+00:00"
        )
    code, out = press("users", "sessions", "rex", "--revoke", "--as", "ada")
    assert code == 0 and "2 session(s) ended" in out
    assert Sessions(store).list("rex") == []
