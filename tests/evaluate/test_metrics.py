"""Ranking metrics: hand-computed examples, edge cases and bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.evaluate.metrics import (
    dcg_at_k,
    first_occurrences,
    hit_at_k,
    mean,
    mrr_at_k,
    ndcg_at_k,
    percentile,
    recall_at_k,
)


def test_recall_is_capped_at_what_k_slots_can_hold() -> None:
    ranked = ["a", "x", "b", "y"]
    gold = {"a", "b", "c"}
    assert recall_at_k(ranked, gold, 2) == 0.5  # 1 found / min(3, 2)
    assert recall_at_k(ranked, gold, 2, capped=False) == pytest.approx(1 / 3)
    assert recall_at_k(ranked, gold, 4) == pytest.approx(2 / 3)
    assert recall_at_k(["a", "b"], {"a", "b", "c"}, 2) == 1.0


def test_recall_counts_a_repeated_id_once() -> None:
    assert recall_at_k(["a", "a", "a"], {"a", "b"}, 3) == 0.5


def test_hit_at_1_and_k() -> None:
    ranked = ["x", "a", "y"]
    assert hit_at_k(ranked, {"a"}, 1) == 0.0
    assert hit_at_k(ranked, {"a"}, 2) == 1.0
    assert hit_at_k(ranked, {"z"}, 3) == 0.0


def test_mrr_uses_the_first_relevant_rank_within_k() -> None:
    assert mrr_at_k(["x", "y", "a", "b"], {"a", "b"}) == pytest.approx(1 / 3)
    assert mrr_at_k(["a"], {"a"}) == 1.0
    assert mrr_at_k(["x"] * 10 + ["a"], {"a"}, 10) == 0.0  # rank 11 is outside MRR@10
    assert mrr_at_k([], {"a"}) == 0.0


def test_ndcg_matches_a_hand_computed_example() -> None:
    # Relevant ids at ranks 2 and 4; three gold ids, so the ideal ranking has hits at 1-3.
    # DCG  = 1/log2(3) + 1/log2(5)         = 0.630930 + 0.430677 = 1.061606
    # IDCG = 1/log2(2) + 1/log2(3) + 1/log2(4) = 1 + 0.630930 + 0.5 = 2.130930
    # nDCG = 1.061606 / 2.130930 = 0.498190
    assert ndcg_at_k(["x", "a", "y", "b"], {"a", "b", "c"}, 10) == pytest.approx(0.498190, abs=1e-6)


def test_ndcg_bounds_and_cut_off() -> None:
    assert ndcg_at_k(["a", "b"], {"a", "b"}) == 1.0
    assert ndcg_at_k(["x", "y"], {"a"}) == 0.0
    assert ndcg_at_k(["x", "a"], {"a"}, 1) == 0.0
    # a duplicate relevant id gains nothing the second time
    assert ndcg_at_k(["a", "a"], {"a", "b"}) == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_dcg_discounts_by_log2_of_rank_plus_one() -> None:
    assert dcg_at_k([1.0, 1.0, 1.0], 3) == pytest.approx(1 + 1 / math.log2(3) + 0.5)
    assert dcg_at_k([0.0, 1.0], 1) == 0.0


def test_questions_without_gold_and_bad_k_are_errors() -> None:
    with pytest.raises(ValueError, match="without relevant"):
        recall_at_k(["a"], [], 10)
    with pytest.raises(ValueError, match="k must"):
        hit_at_k(["a"], {"a"}, 0)


def test_first_occurrences_keeps_the_best_position() -> None:
    assert first_occurrences(["c", "a", "c", "b", "a"]) == ["c", "a", "b"]


def test_percentile_interpolates_like_numpy() -> None:
    values = [3.0, 1.0, 4.0, 1.5, 9.0, 2.6]
    for q in (0, 5, 50, 95, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert percentile([], 50) is None
    assert percentile([7.0], 95) == 7.0
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_mean_of_nothing_is_none() -> None:
    assert mean([]) is None
    assert mean([1.0, 2.0]) == 1.5


ids = st.lists(st.sampled_from("abcdefgh"), max_size=12)


@given(ranked=ids, gold=st.sets(st.sampled_from("abcdefgh"), min_size=1), k=st.integers(1, 12))
def test_every_metric_stays_within_0_and_1(ranked: list[str], gold: set[str], k: int) -> None:
    for value in (
        recall_at_k(ranked, gold, k),
        hit_at_k(ranked, gold, k),
        mrr_at_k(ranked, gold, k),
        ndcg_at_k(ranked, gold, k),
    ):
        assert 0.0 <= value <= 1.0 + 1e-12


@given(gold=st.lists(st.sampled_from("abcdefgh"), min_size=1, unique=True), k=st.integers(1, 12))
def test_a_perfect_ranking_scores_one(gold: list[str], k: int) -> None:
    ranked = [*gold, "z1", "z2"]
    assert recall_at_k(ranked, gold, k) == 1.0
    assert ndcg_at_k(ranked, gold, k) == pytest.approx(1.0)
    assert mrr_at_k(ranked, gold, k) == 1.0
