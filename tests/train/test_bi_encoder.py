"""The bi-encoder trainer's pieces (:mod:`pipeline.train.bi_encoder`): loss, mining, sample.

The whole run (training, export, manifest, use after a rebuild) is in
``tests/train/test_jobs.py``. Needs the ``train`` extra; skips without it.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from pipeline.train.data import PassageMatrix, TrainingQuestion

pytestmark = pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("torch", "transformers")),
    reason="needs the train extra: pip install torch==2.13.0 && pip install -e '.[train]'",
)


def _matrix() -> PassageMatrix:
    """Six passages on the unit circle: rows 0-1 cite c0, 2 c1, 3 c2, 4 c3, 5 c4."""
    angles = np.array([0.0, 0.1, 0.2, 0.3, 1.5, 3.0])
    vectors = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)
    return PassageMatrix(vectors, [f"p{i}" for i in range(6)], ["c0", "c0", "c1", "c2", "c3", "c4"])


def test_mined_negatives_are_the_nearest_non_gold_passages_in_order() -> None:
    from pipeline.train.bi_encoder import mine_examples

    passages = _matrix()
    question = TrainingQuestion("q", "question", frozenset({"c1"}))
    no_gold = TrainingQuestion("n", "orphan", frozenset({"absent"}))
    query = np.array([[np.cos(0.2), np.sin(0.2)], [1.0, 0.0]], dtype=np.float32)
    examples = mine_examples([question, no_gold], query, passages, mined=3)
    assert len(examples) == 1  # a question with no gold passage in the index teaches nothing
    assert examples[0].positives == (2,)
    # nearest to angle 0.2 after the gold row 2: rows 1 and 3 (0.1 away), then row 0
    assert examples[0].negatives[:2] in ((1, 3), (3, 1)) and examples[0].negatives[2] == 0


def test_in_batch_loss_masks_other_gold_and_rewards_the_own_column() -> None:
    import torch

    from pipeline.train.bi_encoder import in_batch_loss

    queries = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # column 0 is question 0's gold, column 1 question 1's; column 2 is a copy of column 0
    passages = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    gold = torch.tensor([[True, False, True], [False, True, False]])
    masked = in_batch_loss(queries, passages, gold, temperature=0.1)
    unmasked = in_batch_loss(queries, passages, torch.zeros_like(gold), temperature=0.1)
    # Without the mask, question 0's duplicate gold counts as a negative as strong as its own.
    assert float(unmasked) > float(masked) + 0.3
    assert float(masked) < 0.01
    swapped = in_batch_loss(queries.flip(0), passages, gold, temperature=0.1)
    assert float(swapped) > 5


def test_the_validation_sample_holds_every_gold_passage_and_is_seeded() -> None:
    from pipeline.train.bi_encoder import corpus_sample

    passages = _matrix()
    validation = [TrainingQuestion("v", "q", frozenset({"c0", "c4"}))]
    sample = corpus_sample(validation, passages, size=2, seed=0)
    assert {0, 1, 5} <= set(sample) and len(sample) == 5
    assert sample == corpus_sample(validation, passages, size=2, seed=0)
    assert corpus_sample(validation, passages, size=100, seed=0) == list(range(6))
