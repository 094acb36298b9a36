"""`press train` (pipeline/cli/train.py) without torch: exit 2 with the install hint."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app


def test_press_train_without_torch_exits_2_with_the_install_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    (tmp_path / "set.jsonl").write_text('{"id": "1", "question": "q", "relevant": ["c"]}\n')
    result = CliRunner().invoke(app, ["train", "--set", str(tmp_path / "set.jsonl")])
    assert result.exit_code == 2, result.output
    assert "torch==2.13.0" in result.output
