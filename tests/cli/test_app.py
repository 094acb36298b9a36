"""The `press` command line: exit codes, messages, JSON output, the README's main job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app

runner = CliRunner()


def test_config_show_json_lists_values_and_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRESS_RETRIEVAL__K", "4")
    result = runner.invoke(app, ["config", "show", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["retrieval.k"] == {"value": 4, "source": "env PRESS_RETRIEVAL__K"}


def test_invalid_setting_exits_2_with_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRESS_RETRIEVAL__K", "zero")
    result = runner.invoke(app, ["config", "show"])
    assert result.exit_code == 2
    assert "hint:" in result.stderr


def test_readme_test_command_is_what_ci_runs() -> None:
    repo = Path(__file__).resolve().parents[2]
    readme = (repo / "README.md").read_text()
    command = readme.split("**2.")[1].split("```bash\n")[1].split("\n```")[0].strip()
    assert command in (repo / ".ci" / "run").read_text()
