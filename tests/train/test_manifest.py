"""pipeline.train.manifest: the manifest, the model folder, and the passage-model check."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.index.embeddings import MINILM_NAME
from pipeline.train.manifest import load_trained, model_dir, read_manifest, write_manifest
from tests.support.trained_models import manifest_for, stock_model_folder


def test_manifest_round_trip_and_unfinished_run(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    with pytest.raises(ConfigError) as missing:
        read_manifest(folder)
    assert "press train" in missing.value.hint
    (folder / "checkpoint.pt").write_bytes(b"x")
    with pytest.raises(ConfigError) as unfinished:
        read_manifest(folder)
    assert "resume" in unfinished.value.hint
    write_manifest(folder, manifest_for("m"))
    assert read_manifest(folder).data_hash == "0" * 64


@pytest.mark.parametrize("bad", ["", "..", "a/b", "a\\b"])
def test_model_names_stay_inside_the_models_folder(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ConfigError):
        model_dir(tmp_path, bad)


def test_a_model_trained_against_other_passage_vectors_is_refused(tmp_path: Path) -> None:
    folder = stock_model_folder(tmp_path, "q")
    write_manifest(folder, manifest_for("q", passage_model="other-model"))
    with pytest.raises(ConfigError, match="other-model"):
        load_trained(tmp_path, "q", MINILM_NAME)
