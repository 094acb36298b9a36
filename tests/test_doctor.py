"""``press doctor`` and ``press --version``: every check can report ok, note and problem."""

from __future__ import annotations

import json
import socket
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from pipeline.index.hybrid import Index
from pipeline.settings.load import Settings
from tests.support.demo_index import copy_demo_home
from tests.support.openai_server import Reply, ScriptedOpenAIServer
from tests.support.press_cli import press


def _doctor(*args: str) -> tuple[int, dict[str, dict[str, Any]]]:
    result = press(["doctor", "--json", *args])
    data = json.loads(result.stdout)
    assert data["ok"] == (result.exit_code == 0)
    return result.exit_code, {c["name"]: c for c in data["checks"]}


def test_version_prints_the_installed_distribution_version() -> None:
    result = press(["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"evidence-press {metadata.version('evidence-press')}"


def test_a_fresh_home_is_healthy_with_notes_and_nothing_is_created(isolated_home: Path) -> None:
    code, checks = _doctor()
    assert code == 0
    assert checks["index"]["status"] == "note" and "press ingest" in checks["index"]["hint"]
    assert checks["store"]["status"] == "note"
    for name in ("settings", "package files", "prompts", "token counting", "embedding model"):
        assert checks[name]["status"] == "ok", checks[name]
    assert "packaged" in checks["prompts"]["detail"]
    assert "(384 dimensions)" in checks["embedding model"]["detail"]
    assert list(isolated_home.iterdir()) == []  # the doctor only reads


def test_an_ingested_index_is_reported_with_its_counts(
    demo: tuple[Settings, Index], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings, index = demo
    monkeypatch.setenv("PRESS_HOME", str(copy_demo_home(settings.home, tmp_path / "home")))
    _, checks = _doctor()
    assert checks["index"]["status"] == "ok"
    assert f"{index.passage_db.counts()['passages']} passages" in checks["index"]["detail"]


def test_a_prompt_folder_without_the_prompts_is_a_problem(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PRESS_PROMPTS__DIR", str(tmp_path))
    code, checks = _doctor()
    assert code == 1
    assert checks["prompts"]["status"] == "problem"
    assert "draft_article.md" in checks["prompts"]["detail"]
    assert "PRESS_PROMPTS__DIR" in checks["prompts"]["hint"]


def test_a_package_folder_missing_from_the_install_is_a_problem(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("pipeline.web.desk.STATIC", tmp_path / "static")
    code, checks = _doctor()
    assert code == 1
    assert checks["package files"]["status"] == "problem"
    assert "desk static files" in checks["package files"]["detail"]
    assert "reinstall" in checks["package files"]["hint"]


def test_an_answering_endpoint_is_ok(
    openai_server: ScriptedOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    openai_server.enqueue(Reply.text("OK"))
    monkeypatch.setenv("PRESS_LLM__BASE_URL", openai_server.base_url)
    monkeypatch.setenv("PRESS_LLM__API_KEY", "sk-doctor-secret")
    code, checks = _doctor("--llm")
    assert code == 0, checks["LLM endpoint"]
    assert checks["LLM endpoint"]["status"] == "ok"
    assert openai_server.chat_requests == 1
    assert openai_server.chat_bodies[-1]["max_tokens"] == 4


def test_an_endpoint_that_does_not_answer_is_a_problem_and_the_key_stays_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("PRESS_LLM__BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("PRESS_LLM__API_KEY", "sk-doctor-secret")
    result = press(["doctor", "--llm"])
    assert result.exit_code == 1
    assert "APIConnectionError" in result.stdout and "sk-doctor-secret" not in result.stdout


def test_no_endpoint_configured_is_a_problem_only_when_asked(isolated_home: Path) -> None:
    code, checks = _doctor()
    assert code == 0 and "LLM endpoint" not in checks
    code, checks = _doctor("--llm")
    assert code == 1
    assert "OPENAI_BASE_URL" in checks["LLM endpoint"]["hint"]


def test_ingest_with_nothing_to_ingest_says_how(isolated_home: Path) -> None:
    result = press(["ingest"])
    assert result.exit_code == 2
    assert "--demo" in result.stderr
