"""What ``press train`` runs: check the extra, prepare folder and data, train, write the manifest.

Design
------
Both kinds of model (:func:`train_model`, the question encoder; :func:`train_reranker_model`,
the cross-encoder reranker) go through the same steps, written once here: refuse early with
the install hint when torch is missing (:func:`require_torch`), clear the model folder with
``force`` or refuse to overwrite a finished model, take the chosen half and split off the
held-out tenth (:func:`_prepare`), train with the kind's trainer (both run the one loop of
:mod:`pipeline.train.loop`), and write the manifest last (:func:`_manifest`: the fields
every model records, plus what the kind adds). The manifest is what retrieval reads, so a
folder without one is never mistaken for a finished model.

This module imports no torch at import time: the CLI and the benchmarks import it to
check for the extra and to say how to install it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import ConfigError, InputError
from pipeline.index.embeddings import embedding_name
from pipeline.train.candidates import mine_candidates
from pipeline.train.data import (
    Half,
    TrainingQuestion,
    data_hash,
    load_passage_matrix,
    select_half,
    validation_split,
)
from pipeline.train.manifest import (
    KIND_BI_ENCODER,
    KIND_QUERY_ENCODER,
    KIND_RERANKER,
    MANIFEST,
    MODEL_FILE,
    TrainingManifest,
    model_dir,
    model_file_id,
    write_manifest,
)

if TYPE_CHECKING:
    from pipeline.index.hybrid import Index
    from pipeline.settings.corpus import RetrievalSettings
    from pipeline.train.bi_encoder import BiEncoderConfig
    from pipeline.train.loop import TrainResult
    from pipeline.train.query_encoder import TrainConfig
    from pipeline.train.reranker import RerankConfig

TRAIN_HINT = (
    "Training needs the optional extra: `pip install torch==2.13.0 && pip install -e "
    "'.[train]'` (install that torch first: any other version pulls a multi-GB CUDA build)."
)


def require_torch() -> None:
    """Raise a :class:`ConfigError` with the install hint unless torch and transformers import."""
    try:  # torch and transformers are the optional `train` extra: imported to check for it
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
    holdout: float = 0.1,
    base_folder: Path | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> TrainingManifest:
    """Train query encoder ``name`` on ``questions`` (one half of them) over ``index``.

    Resumes an unfinished run of the same data and settings; refuses to overwrite a
    finished model unless ``force``. Returns the manifest written beside the model.
    """
    require_torch()
    # torch is the optional `train` extra: the trainer is imported once it is known to be there
    from pipeline.train.query_encoder import BASE_MODEL, TrainConfig, train_query_encoder

    config = config or TrainConfig()
    folder, chosen, train, validation = _prepare(
        index, questions, name=name, source=source, half=half, seed=config.seed, force=force,
        holdout=holdout,
    )
    passages = load_passage_matrix(index)
    result = train_query_encoder(
        folder, train, validation, passages, config, data_hash=_run_data(chosen, validation),
        max_minutes=max_minutes, base_folder=base_folder, progress=progress,
    )  # fmt: skip
    unmatched = sum(1 for q in chosen if not passages.positives(q))
    manifest = _manifest(
        index, folder, name=name, kind=KIND_QUERY_ENCODER, base_model=BASE_MODEL, source=source,
        half=half, chosen=chosen, train=train, validation=validation, config=asdict(config),
        result=result, counts={"questions_without_passages": unmatched},
    )  # fmt: skip
    write_manifest(folder, manifest)
    return manifest


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
    holdout: float = 0.1,
    base_folder: Path | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> TrainingManifest:
    """Train cross-encoder reranker ``name`` on the candidates ``retrieval`` finds in ``index``.

    The first stage (``retrieval``: fusion, a trained ``query_model``...) mines each
    question's top ``config.depth`` passages: gold ones are positives, the rest hard
    negatives. Resumable like :func:`train_model`; returns the manifest.
    """
    require_torch()
    # torch is the optional `train` extra: the trainer is imported once it is known to be there
    from pipeline.train.query_encoder import BASE_MODEL
    from pipeline.train.reranker import RerankConfig, train_reranker

    config = config or RerankConfig()
    folder, chosen, train, validation = _prepare(
        index, questions, name=name, source=source, half=half, seed=config.seed, force=force,
        holdout=holdout,
    )
    candidates = mine_candidates(index, retrieval, train + validation, config.depth, progress)
    result = train_reranker(
        folder, train, validation, candidates, config, data_hash=_run_data(chosen, validation),
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
    manifest = _manifest(
        index, folder, name=name, kind=KIND_RERANKER, base_model=BASE_MODEL, source=source,
        half=half, chosen=chosen, train=train, validation=validation,
        config={**asdict(config), "first_stage": first_stage}, result=result,
        counts={"questions_without_gold_candidates": without},
    )  # fmt: skip
    write_manifest(folder, manifest)
    return manifest


def train_bi_encoder_model(
    index: Index,
    questions: list[TrainingQuestion],
    *,
    name: str,
    source: str,
    half: Half = "A",
    config: BiEncoderConfig | None = None,
    max_minutes: float | None = None,
    force: bool = False,
    holdout: float = 0.1,
    base_folder: Path | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> TrainingManifest:
    """Train bi-encoder ``name`` (both towers of MiniLM) on ``questions`` over ``index``.

    Hard negatives are mined with the index as configured today (its vectors and its
    ``retrieval.query_model``). Use the model with ``embeddings.model`` and
    ``press index rebuild``. Resumable like :func:`train_model`; returns the manifest.
    """
    require_torch()
    # torch is the optional `train` extra: the trainer is imported once it is known to be there
    from pipeline.index.passages import index_text
    from pipeline.train.bi_encoder import BiEncoderConfig, train_bi_encoder
    from pipeline.train.query_encoder import BASE_MODEL

    config = config or BiEncoderConfig()
    folder, chosen, train, validation = _prepare(
        index, questions, name=name, source=source, half=half, seed=config.seed, force=force,
        holdout=holdout,
    )
    passages = load_passage_matrix(index)
    text_of = {row.passage.id: index_text(row) for row in index.passage_db.iter_all()}
    texts = [text_of.get(pid, "") for pid in passages.passage_ids]
    query_vectors = index.embed_query(
        [q.text for q in train], index.settings.retrieval.query_model
    )
    result = train_bi_encoder(
        folder, train, validation, passages, texts, query_vectors, config,
        data_hash=_run_data(chosen, validation), max_minutes=max_minutes, base_folder=base_folder,
        progress=progress,
    )  # fmt: skip
    unmatched = sum(1 for q in chosen if not passages.positives(q))
    manifest = _manifest(
        index, folder, name=name, kind=KIND_BI_ENCODER, base_model=BASE_MODEL, source=source,
        half=half, chosen=chosen, train=train, validation=validation, config=asdict(config),
        result=result, counts={"questions_without_passages": unmatched},
    )  # fmt: skip
    write_manifest(folder, manifest)
    return manifest


Questions = list[TrainingQuestion]


def _prepare(
    index: Index, questions: Questions, *, name: str, source: str, half: Half, seed: int,
    force: bool, holdout: float = 0.1,
) -> tuple[Path, Questions, Questions, Questions]:  # fmt: skip
    """The model folder (cleared with ``force``), the half's questions, train and validation.

    ``holdout`` is the share of the half's questions held out to choose the epoch (0: none,
    the last epoch is kept).
    """
    folder = model_dir(index.settings.models_dir, name)
    if force and folder.exists():
        shutil.rmtree(folder)
    if (folder / MANIFEST).is_file() and not (folder / "checkpoint.pt").is_file():
        raise InputError(
            f"Model {name!r} is already trained ({folder})",
            "Pass --force to train it again, or choose another --name.",
        )
    chosen = select_half(questions, half)
    train, validation = validation_split(chosen, seed, holdout)
    if not train:
        raise InputError(
            f"No training questions with gold ids in half {half} of {source}",
            "Use a question set with 'relevant' ids (or --half all).",
        )
    return folder, chosen, train, validation


def _run_data(chosen: Questions, validation: Questions) -> str:
    """The data part of a run's fingerprint: the questions and which of them are held out.

    A checkpoint is resumed only by a run with the same split (``--holdout`` changes it).
    """
    return f"{data_hash(chosen)}:{data_hash(validation)}"


def _manifest(
    index: Index, folder: Path, *, name: str, kind: str, base_model: str, source: str, half: Half,
    chosen: Questions, train: Questions, validation: Questions, config: dict[str, Any],
    result: TrainResult, counts: dict[str, int],
) -> TrainingManifest:  # fmt: skip
    """The manifest of the model in ``folder`` (trained or time-capped): what every kind records.

    ``config`` is the trainer's hyperparameters (``threads`` is left out: it changes
    nothing learnt); ``counts`` adds the kind's own counts of unusable questions.
    """
    return TrainingManifest(
        name=name,
        kind=kind,
        base_model=base_model,
        passage_model=embedding_name(index.embeddings),
        data_source=source,
        data_hash=data_hash(chosen),
        corpus_version=index.passage_db.corpus_version(),
        half=half,
        n_train=len(train),
        n_validation=len(validation),
        seed=int(config["seed"]),
        hyperparameters={k: v for k, v in config.items() if k != "threads"},
        epochs_run=result.epochs_run,
        best_epoch=result.best_epoch,
        minutes=result.minutes,
        model_id=model_file_id(folder / MODEL_FILE),
        metrics={
            "validation_before": result.before,
            "validation_best": result.best,
            "history": result.history,
            "finished": result.finished,
            **counts,
        },
    )
