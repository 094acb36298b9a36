"""Where a trained model lives and the manifest that explains it (no torch needed).

A model trained by ``press train`` is a folder ``<home>/models/<name>/``:

=====================  ==========================================================
``manifest.json``      :class:`TrainingManifest`: what it was trained on and how
``model.onnx``         the fine-tuned query encoder, bi-encoder or reranker (onnxruntime)
``tokenizer.json``     the tokenizer it reads (a copy of the shipped MiniLM one)
``checkpoint.pt``      training state for ``--resume`` (torch; removed when finished
                       unless ``--keep-checkpoint``)
=====================  ==========================================================

The manifest is written last, so a folder without one is an unfinished run: it can be
resumed but not used for retrieval. :func:`load_trained` refuses a model whose passage
side is not the index's embedding model, because its questions would then be compared
with vectors of another model.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline import atomic
from pipeline.errors import ConfigError

MANIFEST = "manifest.json"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
CHECKPOINT = "checkpoint.pt"
KIND_QUERY_ENCODER = "query-encoder"
KIND_RERANKER = "reranker"
KIND_BI_ENCODER = "bi-encoder"


class TrainingManifest(BaseModel):
    """How a trained model was made, and what it scored on the data it was chosen with."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(description="The model's folder name under <home>/models/.")
    kind: str = Field(KIND_QUERY_ENCODER, description="What the model replaces at query time.")
    base_model: str = Field(description="Weights training started from.")
    passage_model: str = Field(
        description="Embedding model of the passage vectors it was trained against; it is "
        "only valid with an index embedded by this model."
    )
    data_source: str = Field(description="The question set (or store) the pairs came from.")
    data_hash: str = Field(description="sha256 over the training questions and their positives.")
    corpus_version: str = Field("", description="The index's corpus version at training time.")
    half: str = Field("all", description="Which questions were used: 'A', 'B' or 'all'.")
    n_train: int = Field(description="Questions trained on.")
    n_validation: int = Field(description="Questions held out of training to choose the epoch.")
    seed: int = Field(description="Random seed (shuffling, validation split, initial state).")
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    epochs_run: float = Field(0.0, description="Epochs completed (fractional when time ran out).")
    best_epoch: int = Field(0, description="The epoch whose weights were kept (0 = base).")
    minutes: float = Field(0.0, description="Training wall time, over all resumed runs.")
    metrics: dict[str, Any] = Field(
        default_factory=dict,
        description="Dense recall@10 / hit@1 / MRR@10 on the validation questions before and "
        "after training, and the loss per epoch.",
    )
    model_id: str = Field(
        "",
        description="sha256 (16 hex) of model.onnx: a bi-encoder's vectors in an index carry "
        "it, so a retrained model is never mixed with the old one's vectors.",
    )
    created: str = Field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"),
        description="When training finished (UTC).",
    )


def model_dir(models_dir: Path, name: str) -> Path:
    """The folder of model ``name``; the name must be a plain folder name."""
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        raise ConfigError(
            f"Invalid model name {name!r}",
            "Use a plain name such as 'bioasq-query', without slashes.",
        )
    return models_dir / name


def write_manifest(folder: Path, manifest: TrainingManifest) -> Path:
    """Write ``manifest.json`` atomically (:mod:`pipeline.atomic`)."""
    return atomic.write_text(folder / MANIFEST, manifest.model_dump_json(indent=2) + "\n")


def read_manifest(folder: Path) -> TrainingManifest:
    """The manifest of a finished model; a :class:`ConfigError` with a hint otherwise."""
    path = folder / MANIFEST
    if not path.is_file():
        hint = (
            "Its training did not finish: rerun the same `press train` command to resume it."
            if (folder / CHECKPOINT).is_file()
            else "Train it with `press train --set SET.jsonl --name NAME`, or unset "
            "retrieval.query_model (PRESS_RETRIEVAL__QUERY_MODEL=none)."
        )
        raise ConfigError(f"No trained model at {folder}", hint)
    try:
        return TrainingManifest.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, ValidationError) as exc:
        raise ConfigError(
            f"The manifest {path} is unreadable: {exc}",
            "Train the model again (`press train ... --force`).",
        ) from exc


_USE = {
    KIND_QUERY_ENCODER: ("retrieval.query_model", "press train --kind query-encoder"),
    KIND_RERANKER: ("retrieval.rerank_model", "press train --kind reranker"),
    KIND_BI_ENCODER: ("embeddings.model", "press train --kind bi-encoder"),
}


def load_finished(models_dir: Path, name: str, kind: str) -> tuple[Path, TrainingManifest]:
    """The folder and manifest of finished model ``name``, which must be of ``kind``.

    Every refusal names the setting that asked for the model and how to fix it: an absent
    or unfinished model, one of another kind (with the setting that kind belongs in), or
    a folder missing its model or tokenizer file.
    """
    setting, command = _USE[kind]
    label = kind.replace("-", " ")
    folder = model_dir(models_dir, name)
    if not (folder / MANIFEST).is_file() and not (folder / CHECKPOINT).is_file():
        raise ConfigError(
            f"No {label} named {name!r} at {folder} (asked for by {setting})",
            f"Train one with `{command} --set SET.jsonl --name {name}`, or unset {setting} "
            f"(PRESS_{setting.upper().replace('.', '__')}=none).",
        )
    manifest = read_manifest(folder)
    if manifest.kind != kind:
        other = _USE.get(manifest.kind, ("", ""))[0]
        raise ConfigError(
            f"Model {name!r} is a {manifest.kind!r}, not a {label}",
            f"Name it in {other} instead, or train a {label} with `{command}`.",
        )
    for needed in (MODEL_FILE, TOKENIZER_FILE):
        if not (folder / needed).is_file():
            raise ConfigError(
                f"Model {name!r} lacks {needed}", f"Train it again (`{command} ... --force`)."
            )
    return folder, manifest


def load_trained(models_dir: Path, name: str, passage_model: str) -> tuple[Path, TrainingManifest]:
    """The folder and manifest of a usable query encoder for an index of ``passage_model``."""
    folder, manifest = load_finished(models_dir, name, KIND_QUERY_ENCODER)
    if manifest.passage_model != passage_model:
        raise ConfigError(
            f"Model {name!r} was trained against {manifest.passage_model!r} passage vectors "
            f"but the index holds {passage_model!r} vectors",
            "Train it again on this index (`press train ... --force`), or unset "
            "retrieval.query_model.",
        )
    return folder, manifest


def load_reranker_folder(models_dir: Path, name: str) -> tuple[Path, TrainingManifest]:
    """The folder and manifest of a usable cross-encoder reranker (``retrieval.rerank_model``).

    A reranker reads the passages' *text*, so unlike a query encoder it is valid with an
    index of any embedding model.
    """
    return load_finished(models_dir, name, KIND_RERANKER)


def model_file_id(path: Path) -> str:
    """sha256 (first 16 hex digits) of a model file (:attr:`TrainingManifest.model_id`)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def list_models(models_dir: Path) -> list[TrainingManifest]:
    """Manifests of the finished models under ``models_dir``, by name."""
    if not models_dir.is_dir():
        return []
    found = []
    for folder in sorted(models_dir.iterdir()):
        if (folder / MANIFEST).is_file():
            try:
                found.append(read_manifest(folder))
            except ConfigError:
                continue
    return found
