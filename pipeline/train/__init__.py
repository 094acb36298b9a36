"""``press train``: retrieval that learns from the project's own question -> evidence pairs.

What is trained is MiniLM's question encoder, against the index's fixed passage vectors
(:mod:`pipeline.train.query_encoder` explains why and how). The pieces:

* :mod:`pipeline.train.data` — pairs from a question set or from the store's approved
  articles, the half split, the passage matrix; no torch;
* :mod:`pipeline.train.manifest` — the model folder under ``<home>/models/<name>/`` and its
  manifest; no torch (retrieval reads it);
* :mod:`pipeline.train.query_encoder` — the torch training loop and the ONNX export;
* :mod:`pipeline.train.candidates` and :mod:`pipeline.train.reranker` — the second kind
  (``press train --kind reranker``): a cross-encoder trained on the retriever's own top-k
  (gold passages against hard negatives), used by :mod:`pipeline.retrieve.rerank`.

Torch is an optional extra (``pip install torch==2.13.0 && pip install -e '.[train]'``):
only training needs it. A trained model runs on onnxruntime like the stock one, so
retrieval with ``retrieval.query_model`` set needs nothing beyond the core install.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import ConfigError, InputError
from pipeline.train.data import (
    Half,
    TrainingQuestion,
    data_hash,
    load_passage_matrix,
    select_half,
    validation_split,
)
from pipeline.train.manifest import (
    KIND_RERANKER,
    MANIFEST,
    TrainingManifest,
    model_dir,
    write_manifest,
)

if TYPE_CHECKING:
    from pipeline.index.hybrid import Index
    from pipeline.settings import RetrievalSettings
    from pipeline.train.query_encoder import TrainConfig, TrainResult
    from pipeline.train.reranker import RerankConfig
__all__ = ["TRAIN_HINT", "require_torch", "train_model", "train_reranker_model"]

TRAIN_HINT = (
    "Training needs the optional extra: `pip install torch==2.13.0 && pip install -e "
    "'.[train]'` (install that torch first: any other version pulls a multi-GB CUDA build)."
)


def require_torch() -> None:
    """Raise a :class:`ConfigError` with the install hint unless torch and transformers import."""
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"press train cannot run: {exc}", TRAIN_HINT) from exc


def train_model(
    index: Index,
    questions: list[TrainingQuestion],
    *,
    name: str,
    source: str,
    half: Half = "A",
    config: TrainConfig | None = None,
    max_minutes: float | None = None,
    force: bool = False,
    base_folder: Path | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> TrainingManifest:
    """Train query encoder ``name`` on ``questions`` (one half of them) over ``index``.

    Resumes an unfinished run of the same data and settings; refuses to overwrite a
    finished model unless ``force``. Returns the manifest written beside the model.
    """
    require_torch()
    from pipeline.index.embeddings import embedding_name
    from pipeline.train.query_encoder import BASE_MODEL, TrainConfig, train_query_encoder
    config = config or TrainConfig()
    folder, chosen, train, validation = _prepare(
        index, questions, name=name, source=source, half=half, seed=config.seed, force=force
    )
    passages = load_passage_matrix(index)
    digest = data_hash(chosen)
    result = train_query_encoder(
        folder, train, validation, passages, config, data_hash=digest,
        max_minutes=max_minutes, base_folder=base_folder, progress=progress,
    )  # fmt: skip
    unmatched = sum(1 for q in chosen if not passages.positives(q))
    manifest = TrainingManifest(
        name=name,
        base_model=BASE_MODEL,
        passage_model=embedding_name(index.embeddings),
        data_source=source,
        data_hash=digest,
        corpus_version=index.passage_db.corpus_version(),
        half=half,
        n_train=len(train),
        n_validation=len(validation),
        seed=config.seed,
        hyperparameters={k: v for k, v in asdict(config).items() if k != "threads"},
        epochs_run=result.epochs_run,
        best_epoch=result.best_epoch,
        minutes=result.minutes,
        metrics={
            "validation_before": result.before,
            "validation_best": result.best,
            "history": result.history,
            "finished": result.finished,
            "questions_without_passages": unmatched,
        },
    )
    write_manifest(folder, manifest)
    return manifest


Questions = list[TrainingQuestion]


def _prepare(
    index: Index, questions: Questions, *, name: str, source: str, half: Half, seed: int,
    force: bool,
) -> tuple[Path, Questions, Questions, Questions]:  # fmt: skip
    """The model folder (cleared with ``force``), the half's questions, train and validation."""
    folder = model_dir(index.settings.models_dir, name)
    if force and folder.exists():
        shutil.rmtree(folder)
    if (folder / MANIFEST).is_file() and not (folder / "checkpoint.pt").is_file():
        raise InputError(
            f"Model {name!r} is already trained ({folder})",
            "Pass --force to train it again, or choose another --name.",
        )
    chosen = select_half(questions, half)
    train, validation = validation_split(chosen, seed)
    if not train:
        raise InputError(
            f"No training questions with gold ids in half {half} of {source}",
            "Use a question set with 'relevant' ids (or --half all).",
        )
    return folder, chosen, train, validation


def train_reranker_model(
    index: Index,
    questions: list[TrainingQuestion],
    *,
    name: str,
    source: str,
    retrieval: RetrievalSettings,
    half: Half = "A",
    config: RerankConfig | None = None,
    max_minutes: float | None = None,
    force: bool = False,
    base_folder: Path | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> TrainingManifest:
    """Train cross-encoder reranker ``name`` on the candidates ``retrieval`` finds in ``index``.

    The first stage (``retrieval``: fusion, a trained ``query_model``...) mines each
    question's top ``config.depth`` passages: gold ones are positives, the rest hard
    negatives. Resumable like :func:`train_model`; returns the manifest.
    """
    require_torch()
    from pipeline.index.embeddings import embedding_name
    from pipeline.train.candidates import mine_candidates
    from pipeline.train.query_encoder import BASE_MODEL
    from pipeline.train.reranker import RerankConfig, train_reranker
    config = config or RerankConfig()
    folder, chosen, train, validation = _prepare(
        index, questions, name=name, source=source, half=half, seed=config.seed, force=force
    )
    candidates = mine_candidates(index, retrieval, train + validation, config.depth, progress)
    digest = data_hash(chosen)
    result: TrainResult = train_reranker(
        folder, train, validation, candidates, config, data_hash=digest,
        max_minutes=max_minutes, base_folder=base_folder, progress=progress,
    )  # fmt: skip
    without = sum(
        1 for q in train + validation
        if not any(c.citation_id in q.citations for c in candidates[q.id])
    )  # fmt: skip
    first_stage = {
        key: value for key, value in retrieval.model_dump(mode="json").items()
        if key in ("fusion", "query_model", "dense_weight", "lexical_weight", "second_model",
                   "candidates", "prf_docs")
    }  # fmt: skip
    manifest = TrainingManifest(
        name=name,
        kind=KIND_RERANKER,
        base_model=BASE_MODEL,
        passage_model=embedding_name(index.embeddings),
        data_source=source,
        data_hash=digest,
        corpus_version=index.passage_db.corpus_version(),
        half=half,
        n_train=len(train),
        n_validation=len(validation),
        seed=config.seed,
        hyperparameters={
            **{k: v for k, v in asdict(config).items() if k != "threads"},
            "first_stage": first_stage,
        },
        epochs_run=result.epochs_run,
        best_epoch=result.best_epoch,
        minutes=result.minutes,
        metrics={
            "validation_before": result.before,
            "validation_best": result.best,
            "history": result.history,
            "finished": result.finished,
            "questions_without_gold_candidates": without,
        },
    )
    write_manifest(folder, manifest)
    return manifest
