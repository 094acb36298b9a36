"""`press draft` (pipeline/cli/draft.py): the printed path, --explain, usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.settings.load import Settings
from tests.support.demo_index import REFERENCE_QUESTION

runner = CliRunner()


def test_draft_prints_the_article_path_and_explains(
    demo_home: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRESS_OUTPUTS", str(tmp_path / "out"))
    result = runner.invoke(app, ["draft", REFERENCE_QUESTION, "--explain", "--no-llm"])
    assert result.exit_code == 0, result.stderr
    path = Path(result.stdout.strip().splitlines()[-1])
    assert path.name == "article.md" and path.is_file()
    assert "## Bottom Line" in path.read_text()
    assert "support" in result.stdout


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--audience", "vet"], "error: --audience must be clinician or patient"),
        (["--format", "pdf"], "error: --format must be md, html or json"),
    ],
)
def test_usage_errors_exit_2_with_their_message(option: list[str], message: str) -> None:
    result = runner.invoke(app, ["draft", "Does aspirin help?", *option])
    assert result.exit_code == 2, result.output
    assert message in result.stderr, result.stderr
