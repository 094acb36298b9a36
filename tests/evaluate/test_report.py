"""Reports: JSON round trip, escaping of untrusted text, embedded plots, determinism."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import EvalSetError
from pipeline.evaluate.articles import (
    ArticleMetrics,
    ArticleReport,
    ArticleResult,
    FlaggedBullet,
    StageTime,
    TokenTotals,
)
from pipeline.evaluate.report import load_report, plots_for, render_html, write_reports
from pipeline.evaluate.retrieval import RetrievalReport

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'
M = {
    "recall@k": 0.5,
    "hit@1": 0.0,
    "hit@k": 1.0,
    "mrr@10": 0.5,
    "ndcg@10": 0.6,
    "latency_ms_p50": 1.0,
    "latency_ms_p95": 2.0,
}


def _ranking(ranked: list[str]) -> dict[str, Any]:
    return {"ranked": ranked, "latency_ms": 1.0, **{k: v for k, v in M.items() if "@" in k}}


def retrieval_report() -> RetrievalReport:
    return RetrievalReport.model_validate(
        {
            "k": 10,
            "n_questions": 1,
            "methods": {"fused": M, "dense": M, "lexical": M},
            "set": "s.jsonl",
            "per_question": [
                {
                    "id": "q1",
                    "question": EVIL,
                    "relevant": ["a", EVIL],
                    "methods": {m: _ranking(["x", "a"]) for m in ("fused", "dense", "lexical")},
                }
            ],
        }
    )


def article_report() -> ArticleReport:
    result = ArticleResult(
        id="q1",
        question=EVIL,
        audience="clinician",
        answerable=True,
        relevant=["a"],
        retrieved=["a", "b"],
        flagged=[FlaggedBullet(section=EVIL, text=EVIL, numbers=[1], support=0.1, reason="low")],
        structure={"summary": True, "bottom_line": False},
        timings_s={"retrieve": 0.1, "draft": 0.2, "cite": 0.1, "render": 0.01, "total": 0.5},
        article_html=(
            '<p class="summary">ok</p><script>alert(2)</script><a href="javascript:x">j</a>'
        ),
    )
    return ArticleReport(
        n_questions=1,
        drafter="extractive",
        metrics=ArticleMetrics(
            citation_validity=1.0,
            citation_support=0.5,
            structure_compliance=0.0,
            verdict_agreement=None,
            n_verdict_scored=0,
            abstention_correct=None,
            n_unanswerable=0,
            false_abstention_rate=0.0,
            n_answerable=1,
            evidence_recall=1.0,
            n_errors=0,
        ),
        structure_parts={"summary": 1.0, "bottom_line": 0.0},
        tokens=TokenTotals(
            prompt_tokens=0, completion_tokens=0, calls=0, cost=None, tokens_per_article=0.0
        ),
        stages_s={"total": StageTime(total=0.5, mean=0.5, p50=0.5, p95=0.5)},
        per_question=[result],
    )


@pytest.mark.parametrize("make", [retrieval_report, article_report])
def test_untrusted_text_is_escaped_and_scripts_never_survive(make: Any) -> None:
    page = render_html(make().model_dump(mode="json"))
    assert "<script" not in page and "<img src=x" not in page and "javascript:" not in page
    assert "&lt;script&gt;alert(" in page
    assert "Content-Security-Policy" in page and "img-src data:" in page


def test_article_fragment_is_kept_after_sanitizing() -> None:
    page = render_html(article_report().model_dump(mode="json"))
    assert '<p class="summary">ok</p>' in page
    assert "missing house-format parts: bottom_line" in page


def test_retrieval_drill_down_marks_hits() -> None:
    page = render_html(retrieval_report().model_dump(mode="json"))
    assert '<td class="hit">a ✓</td>' in page
    assert '<td class="">x</td>' in page


@pytest.mark.parametrize("make", [retrieval_report, article_report])
def test_plots_are_png_data_uris_and_deterministic(make: Any) -> None:
    data = make().model_dump(mode="json")
    first, second = plots_for(data), plots_for(data)
    assert first == second and len(first) == 3
    for _, uri in first:
        assert uri.startswith("data:image/png;base64,")
        assert base64.b64decode(uri.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    page = render_html(data)
    assert len(re.findall(r'<img src="data:image/png;base64,', page)) == 3


def test_write_reports_round_trips_the_json(tmp_path: Path) -> None:
    report = retrieval_report()
    json_path, html_path = write_reports(report, tmp_path / "sub" / "r.json")
    assert html_path == tmp_path / "sub" / "r.html" and html_path.read_text().startswith(
        "<!DOCTYPE"
    )
    data = load_report(json_path)
    assert data == json.loads(json.dumps(report.model_dump(mode="json")))
    assert RetrievalReport.model_validate(data) == report
    assert not list((tmp_path / "sub").glob(".*partial"))


def test_load_report_rejects_other_files(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"a": 1}')
    with pytest.raises(EvalSetError, match="not an evaluation report"):
        load_report(path)
    path.write_text("{")
    with pytest.raises(EvalSetError, match="cannot read"):
        load_report(path)
