"""Report comparison: directions, tolerances, n/a values and mismatches."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pipeline.errors import EvalSetError
from pipeline.evaluate.compare import Tolerances, compare_reports, regressions

M = {
    "recall@k": 0.8,
    "hit@1": 0.7,
    "hit@k": 0.9,
    "mrr@10": 0.75,
    "ndcg@10": 0.7,
    "latency_ms_p50": 10.0,
    "latency_ms_p95": 20.0,
}
RETRIEVAL: dict[str, Any] = {
    "k": 10,
    "n_questions": 5,
    "methods": {"fused": dict(M), "dense": dict(M), "lexical": dict(M)},
}
ARTICLES: dict[str, Any] = {
    "kind": "articles",
    "metrics": {
        "citation_validity": 1.0,
        "citation_support": 0.9,
        "structure_compliance": 1.0,
        "verdict_agreement": None,
        "abstention_correct": 1.0,
        "false_abstention_rate": 0.0,
        "evidence_recall": 0.9,
        "n_errors": 0,
    },
    "tokens": {"tokens_per_article": 0},
    "stages_s": {"draft": {"mean": 1.0}},
}


def _changed(report: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    new = copy.deepcopy(report)
    target = new
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return new


def test_identical_reports_have_no_regression() -> None:
    deltas = compare_reports(RETRIEVAL, copy.deepcopy(RETRIEVAL))
    assert len(deltas) == 3 * 7 and not regressions(deltas)
    assert {d.delta for d in deltas} == {0.0}


@pytest.mark.parametrize(("drop", "regressed"), [(0.01, False), (0.02, False), (0.03, True)])
def test_retrieval_drop_beyond_tolerance_regresses(drop: float, regressed: bool) -> None:
    new = _changed(RETRIEVAL, ("methods", "dense", "mrr@10"), 0.75 - drop)
    bad = regressions(compare_reports(RETRIEVAL, new))
    assert [d.metric for d in bad] == (["dense.mrr@10"] if regressed else [])


def test_slower_search_is_reported_but_never_a_regression() -> None:
    new = _changed(RETRIEVAL, ("methods", "fused", "latency_ms_p95"), 500.0)
    deltas = compare_reports(RETRIEVAL, new)
    latency = next(d for d in deltas if d.metric == "fused.latency_ms_p95")
    assert latency.delta == 480.0 and latency.tolerance is None and not regressions(deltas)


def test_tolerances_are_configurable() -> None:
    new = _changed(RETRIEVAL, ("methods", "fused", "recall@k"), 0.7)
    assert regressions(compare_reports(RETRIEVAL, new))
    assert not regressions(compare_reports(RETRIEVAL, new, Tolerances(retrieval=0.2)))


def test_any_validity_drop_regresses_and_support_has_slack() -> None:
    tiny = _changed(ARTICLES, ("metrics", "citation_validity"), 0.999)
    assert [d.metric for d in regressions(compare_reports(ARTICLES, tiny))] == ["citation_validity"]
    support = _changed(ARTICLES, ("metrics", "citation_support"), 0.86)
    assert not regressions(compare_reports(ARTICLES, support))


def test_rising_false_abstentions_regress_and_na_is_skipped() -> None:
    new = _changed(ARTICLES, ("metrics", "false_abstention_rate"), 0.1)
    new = _changed(new, ("metrics", "verdict_agreement"), 0.2)
    deltas = compare_reports(ARTICLES, new)
    assert [d.metric for d in regressions(deltas)] == ["false_abstention_rate"]
    verdict = next(d for d in deltas if d.metric == "verdict_agreement")
    assert verdict.old is None and verdict.delta is None


def test_mismatched_reports_are_errors() -> None:
    with pytest.raises(EvalSetError, match="different k"):
        compare_reports(RETRIEVAL, _changed(RETRIEVAL, ("k",), 5))
    with pytest.raises(EvalSetError, match="retrieval report with an articles"):
        compare_reports(RETRIEVAL, ARTICLES)
    with pytest.raises(EvalSetError):
        compare_reports({"k": 1}, RETRIEVAL)
