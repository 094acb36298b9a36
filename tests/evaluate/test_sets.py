"""Question-set format: the shipped demo set, extra keys, errors, round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import EvalSetError
from pipeline.evaluate.sets import EvalQuestion, corpus_digest, load_set, write_set
from pipeline.ingest.loaders.dispatch import load_file

REPO = Path(__file__).resolve().parents[2]
DEMO_SET = REPO / "evals" / "sets" / "demo.jsonl"
DEMO_CORPUS = REPO / "corpus" / "demo"


def test_demo_set_gold_ids_all_exist_in_the_demo_corpus() -> None:
    questions = load_set(DEMO_SET)
    ids = {c.id for path in sorted(DEMO_CORPUS.glob("*.jsonl")) for c in load_file(path).citations}
    assert len(ids) == 86
    assert 12 <= len(questions) <= 16
    for question in questions:
        assert set(question.relevant) <= ids, question.id
    unanswerable = [q for q in questions if not q.answerable]
    assert 3 <= len(unanswerable) <= 4
    assert all(q.relevant == [] for q in unanswerable)
    assert all(q.relevant for q in questions if q.answerable)


def test_demo_set_holds_the_reference_question_with_its_gold() -> None:
    reference = next(q for q in load_set(DEMO_SET) if q.question.startswith("Is IVIG medically"))
    assert {"ref:dalakas2001", "pmid:35798561", "policy:au-nba-sps"} <= set(reference.relevant)
    assert {"web:gard-sps", "web:ninds-sps"} <= set(reference.relevant)


def test_extra_keys_are_accepted_and_defaults_apply(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(
        '{"id": "1", "question": "Q?", "relevant": ["bq1"], "type": "factoid"}\n\n'
        '{"id": "2", "question": "R?", "relevant": [], "answerable": false, "verdict": "no",'
        ' "audience": "patient"}\n'
    )
    first, second = load_set(path)
    assert (first.answerable, first.verdict, first.audience) == (True, None, None)
    assert (second.answerable, second.verdict, second.audience) == (False, "no", "patient")


def test_bioasq_dev_set_loads(shared_data: Path) -> None:
    questions = load_set(shared_data / "bioasq" / "dev_set.jsonl")
    assert len(questions) == 1692 and all(q.relevant for q in questions)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "line 2 is not valid JSON"),
        ('["a"]', "line 2 is not a JSON object"),
        ('{"id": "x", "question": "Q?", "verdict": "perhaps"}', "line 2: verdict"),
        ('{"id": "x"}', "line 2: question"),
        ('{"id": "a", "question": "Q?"}', "duplicate question id 'a'"),
    ],
)
def test_bad_lines_name_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text('{"id": "a", "question": "Q?", "relevant": ["x"]}\n' + line + "\n")
    with pytest.raises(EvalSetError, match=message) as info:
        load_set(path)
    assert info.value.exit_code == 2 and info.value.hint


def test_missing_or_empty_set_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(EvalSetError, match="cannot read"):
        load_set(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(EvalSetError, match="no questions"):
        load_set(tmp_path / "empty.jsonl")


def test_write_set_round_trips_and_leaves_defaults_out(tmp_path: Path) -> None:
    questions = [
        EvalQuestion(id="1", question="Q?", relevant=["a"], verdict="yes"),
        EvalQuestion(id="2", question="R?", answerable=False),
    ]
    path = tmp_path / "out.jsonl"
    assert write_set(path, questions) == 2
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0] == {"id": "1", "question": "Q?", "relevant": ["a"], "verdict": "yes"}
    assert lines[1] == {"id": "2", "question": "R?", "relevant": [], "answerable": False}
    assert load_set(path) == questions


def test_corpus_digest_changes_with_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text("a\n")
    first = corpus_digest(path)
    path.write_text("b\n")
    assert corpus_digest(path) != first and len(first) == 64
    with pytest.raises(EvalSetError):
        corpus_digest(tmp_path / "missing.jsonl")
