"""``press users password`` and ``press serve`` (uvicorn replaced by a recorder)."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.settings.load import load_settings
from pipeline.store.db import Store
from pipeline.web import auth

runner = CliRunner()


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters (see tests/web/conftest.py)."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(
        auth, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def _store() -> Store:
    return Store.from_settings(load_settings())


def test_users_password_from_stdin() -> None:
    assert runner.invoke(app, ["users", "add", "rex", "--role", "reviewer"]).exit_code == 0
    result = runner.invoke(
        app, ["users", "password", "rex", "--password-stdin"], input="a long password\n"
    )
    assert result.exit_code == 0, result.output
    assert "password set for rex" in result.output
    assert auth.authenticate(_store(), "rex", "a long password") is not None


def test_users_password_prompts_twice_without_echo() -> None:
    runner.invoke(app, ["users", "add", "rex", "--role", "reviewer"])
    result = runner.invoke(
        app, ["users", "password", "rex"], input="typed secret 1\ntyped secret 1\n"
    )
    assert result.exit_code == 0, result.output
    assert "typed secret 1" not in result.output
    assert auth.authenticate(_store(), "rex", "typed secret 1") is not None


def test_users_password_refusals() -> None:
    unknown = runner.invoke(
        app, ["users", "password", "nobody", "--password-stdin"], input="x" * 12
    )
    assert unknown.exit_code == 1 and "No user 'nobody'" in unknown.output
    runner.invoke(app, ["users", "add", "rex", "--role", "reviewer"])
    short = runner.invoke(app, ["users", "password", "rex", "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "too short" in short.output


def test_serve_prints_the_url_and_a_first_run_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    first = runner.invoke(app, ["serve", "--port", "8123"])
    assert first.exit_code == 0, first.output
    assert "http://127.0.0.1:8123/" in first.output
    assert "press users password NAME" in first.output
    assert calls[0]["host"] == "127.0.0.1" and calls[0]["port"] == 8123
    assert calls[0]["app"].title == "Evidence Press review desk"
    runner.invoke(app, ["users", "add", "rex", "--role", "reviewer"])
    runner.invoke(app, ["users", "password", "rex", "--password-stdin"], input="a long password\n")
    second = runner.invoke(app, ["serve", "--host", "0.0.0.0"])
    assert "http://0.0.0.0:8000/" in second.output
    assert "press users password NAME" not in second.output
