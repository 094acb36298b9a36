"""pipeline.api used the way an outside harness would: import the facade, nothing else."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline import api

CARDS = [
    {"id": "t:metformin", "title": "Metformin as first-line therapy in type 2 diabetes",
     "year": 2020,
     "abstract": "Metformin lowers blood glucose, rarely causes hypoglycaemia and is the usual "
                 "first drug for adults with type 2 diabetes. Gastrointestinal upset is common."},
    {"id": "t:flu", "title": "Influenza vaccination in older adults", "year": 2019,
     "abstract": "Yearly influenza vaccination reduced hospital admissions for pneumonia in "
                 "people over 65 in a large cohort. Protection waned within one season."},
    {"pmid": "111", "title": "Statins and LDL cholesterol in primary prevention", "year": 2018,
     "abstract": "Statins lowered LDL cholesterol by about a third and reduced major "
                 "cardiovascular events in adults without prior heart disease."},
    {"pmid": "222", "title": "Hand hygiene and hospital infections", "year": 2017,
     "abstract": "Alcohol hand rub compliance programmes reduced hospital-acquired infections "
                 "in intensive care units."},
]  # fmt: skip
QUESTIONS = [
    {"id": "q1", "question": "Is metformin the first drug for type 2 diabetes?",
     "relevant": ["t:metformin"], "verdict": "yes"},
    {"id": "q2", "question": "Do statins lower LDL cholesterol?", "relevant": ["pmid:111"]},
    {"id": "q3", "question": "Does influenza vaccination prevent admissions in older people?",
     "relevant": ["t:flu"], "audience": "patient"},
]  # fmt: skip


@pytest.fixture
def files(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(c) + "\n" for c in CARDS))
    qset = tmp_path / "set.jsonl"
    qset.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    yield corpus, qset
    api.close()


def test_ingest_search_and_draft_through_the_facade(files: tuple[Path, Path]) -> None:
    corpus, _ = files
    report = api.ingest([corpus])
    assert not report.failed and report.total("citations") == 4
    assert api.ingest([str(corpus)]).total("unchanged") == 4  # incremental, paths as str
    hits = api.search("first-line drug for type 2 diabetes", k=3)
    assert hits[0].citation.id == "t:metformin" and len(hits) == 3
    lexical = api.search("hand rub infections", k=1, mode="lexical")
    assert lexical[0].citation.id == "pmid:222"
    article = api.draft("Is metformin the first drug for type 2 diabetes?")
    assert article.provenance.drafter == "extractive"
    assert "t:metformin" in {r.citation_id for r in article.references}
    assert api.draft("Do statins lower LDL?", audience="patient").audience == "patient"


def test_evaluate_retrieval_report_dumps_to_the_documented_json(files: tuple[Path, Path]) -> None:
    corpus, qset = files
    report = api.evaluate_retrieval(qset, corpus, k=2)
    data = report.model_dump()
    assert (data["k"], data["n_questions"]) == (2, 3)
    assert set(data["methods"]) == {"fused", "dense", "lexical"}
    assert set(data["methods"]["fused"]) == {
        "recall@k", "hit@1", "hit@k", "mrr@10", "ndcg@10", "latency_ms_p50", "latency_ms_p95",
    }  # fmt: skip
    assert data["methods"]["fused"]["hit@k"] == 1.0
    assert json.loads(json.dumps(data)) == data
    api.ingest([corpus])  # the configured index gives the same rankings as the eval index
    configured = api.evaluate_retrieval(qset, k=2)
    assert [q.methods["fused"].ranked for q in configured.per_question] == [
        q.methods["fused"].ranked for q in report.per_question
    ]


def test_evaluate_articles_scores_every_question(files: tuple[Path, Path]) -> None:
    corpus, qset = files
    api.ingest([corpus])
    report = api.evaluate_articles(qset)
    assert report.n_questions == 3 and report.drafter == "extractive"
    assert report.metrics.citation_validity == 1.0
    assert report.metrics.structure_compliance == 1.0
    # The extractive drafter gives no verdict: each question with a gold one counts as wrong.
    expected = [q for q in report.per_question if q.expected_verdict]
    m = report.metrics
    assert (m.n_verdict_scored, m.n_verdict_given) == (len(expected), 0)
    assert m.verdict_agreement == (0.0 if expected else None)
    assert [q.audience for q in report.per_question] == ["clinician", "clinician", "patient"]
    assert report.model_dump()["kind"] == "articles"


def test_an_empty_index_is_an_error_with_a_hint(files: tuple[Path, Path]) -> None:
    with pytest.raises(api.RetrievalError) as info:
        api.search("anything")
    assert "api.ingest" in info.value.hint
