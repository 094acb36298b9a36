"""Feedback: the blend of the feedback pass with the first pass.

The feedback pass itself is exercised through the retriever in ``test_fusion.py`` (its
ranking tests share one hand-made corpus with known vectors).
"""

from __future__ import annotations

import pytest

from pipeline.retrieve.feedback import blend


def test_blend_adds_the_weighted_first_pass_and_floors_missing_passages() -> None:
    second = {"a": 2.0, "b": 1.0}
    first = {"a": 0.0, "c": 3.0}
    assert blend(second, first, 0.0) == second
    mixed = blend(second, first, 0.5)
    assert mixed["a"] == pytest.approx(2.0 + 0.5 * 0.0)
    assert mixed["b"] == pytest.approx(1.0 + 0.5 * 0.0)  # missing from the first pass: its low
    assert mixed["c"] == pytest.approx(1.0 + 0.5 * 3.0)  # missing from the second: its low
    assert max(mixed, key=mixed.__getitem__) == "c"
