"""Retrieval evaluation on the demo index, and reusable indexes built from corpus files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import EvalSetError
from pipeline.evaluate.retrieval import (
    RetrievalReport,
    eval_index_dir,
    evaluate_retrieval,
    open_corpus_index,
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


CARDS = [
    {"id": "t:metformin", "title": "Metformin as first-line therapy in type 2 diabetes",
     "abstract": "Metformin lowers blood glucose and is the usual first drug for type 2 diabetes."},
    {"id": "t:flu", "title": "Influenza vaccination in older adults",
     "abstract": "Yearly influenza vaccination reduces hospital admissions in people over 65."},
]  # fmt: skip


def _corpus(path: Path, cards: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(c) + "\n" for c in cards))
    return path


def test_corpus_index_is_built_once_and_reused(tmp_path: Path) -> None:
    from pipeline.settings.load import load_settings
    settings = load_settings(home=tmp_path / "home")
    corpus = _corpus(tmp_path / "c.jsonl", CARDS)
    first = open_corpus_index(corpus, settings)
    assert not first.reused and first.index.passage_db.counts()["citations"] == 2
    version = first.index.passage_db.corpus_version()
    first.index.close()
    copy = _corpus(tmp_path / "copy.jsonl", CARDS)  # same bytes elsewhere: same index
    second = open_corpus_index(copy, settings)
    assert second.reused and second.settings.home == first.settings.home
    assert second.index.passage_db.corpus_version() == version
    questions = [
        EvalQuestion(id="q", question="first drug for type 2 diabetes", relevant=["t:metformin"])
    ]
    report = evaluate_retrieval(questions, second.index, second.settings, corpus=str(copy))
    assert report.per_question[0].methods["fused"].ranked[0] == "t:metformin"
    second.index.close()
    changed = open_corpus_index(_corpus(tmp_path / "c.jsonl", CARDS[:1]), settings)
    assert not changed.reused and changed.settings.home != first.settings.home
    changed.index.close()


def test_an_interrupted_build_is_redone(tmp_path: Path) -> None:
    from pipeline.settings.load import load_settings
    settings = load_settings(home=tmp_path / "home")
    corpus = _corpus(tmp_path / "c.jsonl", CARDS)
    built = open_corpus_index(corpus, settings)
    built.index.close()
    (built.settings.home.parent / "ready.json").unlink()
    again = open_corpus_index(corpus, settings)
    assert not again.reused and again.index.passage_db.counts()["citations"] == 2
    assert again.settings.home != built.settings.home and not built.settings.home.exists()
    again.index.close()


def test_index_key_follows_corpus_bytes_and_index_shaping_settings(tmp_path: Path) -> None:
    from pipeline.settings.load import load_settings
    corpus = _corpus(tmp_path / "c.jsonl", CARDS)
    base = load_settings(home=tmp_path)
    folder = eval_index_dir(base, corpus)
    assert folder.parent == tmp_path / "eval-indexes"
    tuned = load_settings(home=tmp_path, retrieval={"bm25_k1": 2.0, "fusion": "zscore"})
    assert eval_index_dir(tuned, corpus) == folder
    rechunked = load_settings(home=tmp_path, chunking={"max_tokens": 128})
    assert eval_index_dir(rechunked, corpus) != folder


def test_evaluation_indexes_are_always_local(tmp_path: Path) -> None:
    from pipeline.settings.load import load_settings
    settings = load_settings(home=tmp_path / "home", index={"chroma_mode": "http"})
    built = open_corpus_index(_corpus(tmp_path / "c.jsonl", CARDS), settings)
    assert built.settings.index.chroma_mode == "persistent"
    assert built.settings.home.parent.parent == tmp_path / "home" / "eval-indexes"
    built.index.close()


def test_a_corpus_without_citations_is_rejected(tmp_path: Path) -> None:
    from pipeline.settings.load import load_settings
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": ""}\n')
    with pytest.raises(EvalSetError, match="could not be ingested"):
        open_corpus_index(bad, load_settings(home=tmp_path / "home"))
