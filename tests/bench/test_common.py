"""The benchmark helpers that turn raw timings into the published numbers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.common import PhaseError, PhaseRunner, percentile, ratio, summary

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(st.lists(finite, min_size=1, max_size=50), st.floats(min_value=0, max_value=100))
def test_percentile_matches_numpy(values: list[float], q: float) -> None:
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)), abs=1e-6)


def test_percentile_and_summary_of_nothing_are_nan() -> None:
    assert math.isnan(percentile([], 50))
    stats = summary([])
    assert stats["n"] == 0
    assert math.isnan(stats["p95"])


def test_summary_reports_tail_not_mean() -> None:
    stats = summary([1.0] * 19 + [100.0])
    assert stats["p50"] == 1.0
    assert stats["max"] == 100.0
    assert stats["p95"] == pytest.approx(5.95)


@pytest.mark.parametrize(
    ("num", "den", "expected"),
    [
        (3.0, 2.0, 1.5),
        (1.0, 3.0, 0.333),
        (None, 2.0, None),
        (2.0, 0.0, None),
        (math.nan, 1.0, None),
    ],
)
def test_ratio_refuses_missing_or_zero(
    num: float | None, den: float | None, expected: float | None
) -> None:
    assert ratio(num, den) == expected


SCRIPT = """
import sys
sys.path.insert(0, {bench!r})
from common import phase_child
def handler(params):
    if params.get("fail"):
        raise SystemExit("phase broke on purpose")
    return {{"doubled": params["n"] * 2}}
sys.exit(phase_child(handler, __import__("pathlib").Path(sys.argv[-1])))
"""


def _runner(tmp_path: Path) -> PhaseRunner:
    bench = Path(__file__).resolve().parents[2] / "bench"
    script = tmp_path / "phase_script.py"
    script.write_text(SCRIPT.format(bench=str(bench)))
    return PhaseRunner(script, tmp_path)


def test_phase_runner_round_trips_params_and_adds_memory(tmp_path: Path) -> None:
    result = _runner(tmp_path).run("double", "x", {"n": 21})
    assert result["doubled"] == 42
    assert result["peak_rss_mb"] > 1
    assert result["process"]["wall_s"] >= 0
    assert len(result["process"]["load_before"]) == 3
    assert json.loads((tmp_path / "phase-double.json").read_text())["doubled"] == 42


def test_phase_runner_raises_with_the_log_tail(tmp_path: Path) -> None:
    with pytest.raises(PhaseError, match="phase broke on purpose"):
        _runner(tmp_path).run("broken", "x", {"fail": True})
