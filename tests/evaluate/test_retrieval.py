"""Retrieval evaluation on the demo index, and reusable indexes built from corpus files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import EvalSetError
from pipeline.evaluate.retrieval import (
    RetrievalReport,
    evaluate_retrieval,
)
from pipeline.evaluate.sets import EvalQuestion, load_set
from pipeline.index.hybrid import Index
from pipeline.settings.load import Settings

REPO = Path(__file__).resolve().parents[2]
DEMO_SET = REPO / "evals" / "sets" / "demo.jsonl"
METRIC_KEYS = {
    "recall@k", "hit@1", "hit@k", "mrr@10", "ndcg@10", "latency_ms_p50", "latency_ms_p95",
}  # fmt: skip


@pytest.fixture(scope="module")
def demo_report(demo: tuple[Settings, Index]) -> RetrievalReport:
    settings, index = demo
    return evaluate_retrieval(load_set(DEMO_SET), index, settings, k=10, set_name="demo")


def test_report_json_has_exactly_the_documented_shape(demo_report: RetrievalReport) -> None:
    data = demo_report.model_dump()
    assert {"k", "n_questions", "methods"} <= data.keys()
    assert (data["k"], data["n_questions"], data["n_unscored"]) == (10, 12, 4)
    assert list(data["methods"]) == ["fused", "dense", "lexical"]
    for metrics in data["methods"].values():
        assert set(metrics) == METRIC_KEYS
        assert all(0.0 <= metrics[key] <= 1.0 for key in METRIC_KEYS if "@" in key)
        assert metrics["latency_ms_p95"] >= metrics["latency_ms_p50"] > 0
    assert RetrievalReport.model_validate(json.loads(json.dumps(data))) == demo_report


def test_fused_retrieval_finds_the_demo_gold(demo_report: RetrievalReport) -> None:
    fused = demo_report.methods.fused
    assert fused.hit_at_k == 1.0 and fused.recall_at_k >= 0.8 and fused.mrr_at_10 >= 0.8


def test_rankings_are_collapsed_to_distinct_citations(demo_report: RetrievalReport) -> None:
    assert len(demo_report.per_question) == 12
    for question in demo_report.per_question:
        for ranking in question.methods.values():
            assert len(ranking.ranked) == len(set(ranking.ranked)) == 10


def test_reported_means_are_the_means_of_the_questions(demo_report: RetrievalReport) -> None:
    for name in ("fused", "dense", "lexical"):
        values = [q.methods[name].ndcg_at_10 for q in demo_report.per_question]
        assert getattr(demo_report.methods, name).ndcg_at_10 == pytest.approx(sum(values) / 12)


def test_a_second_run_gives_the_same_rankings(
    demo: tuple[Settings, Index], demo_report: RetrievalReport
) -> None:
    settings, index = demo
    again = evaluate_retrieval(load_set(DEMO_SET), index, settings, k=10, set_name="demo")

    def rankings(report: RetrievalReport) -> list[Any]:
        return [
            [(m, r.ranked, r.mrr_at_10) for m, r in q.methods.items()] for q in report.per_question
        ]

    assert rankings(again) == rankings(demo_report)
    assert again.methods.fused.recall_at_k == demo_report.methods.fused.recall_at_k


def test_k_controls_recall_and_hit_but_not_mrr(demo: tuple[Settings, Index]) -> None:
    settings, index = demo
    report = evaluate_retrieval(load_set(DEMO_SET), index, settings, k=1)
    assert report.methods.fused.hit_at_k == report.methods.fused.hit_at_1
    assert all(len(r.ranked) == 10 for q in report.per_question for r in q.methods.values())


def test_a_set_without_gold_cannot_be_scored(demo: tuple[Settings, Index]) -> None:
    settings, index = demo
    questions = [EvalQuestion(id="u", question="Anything?", answerable=False)]
    with pytest.raises(EvalSetError, match="no question in the set has relevant ids"):
        evaluate_retrieval(questions, index, settings)
