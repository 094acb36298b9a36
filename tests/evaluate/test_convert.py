"""PubMedQA conversion: ids are PMIDs exactly, titles are the questions, verdicts kept."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from pipeline.errors import EvalSetError
from pipeline.evaluate.convert import convert_pubmedqa
from pipeline.evaluate.sets import load_set
from pipeline.ingest.loaders.dispatch import load_file

SAMPLE = {
    "12345": {
        "QUESTION": "Does drug A lower blood pressure?",
        "CONTEXTS": ["Hypertension is common.", "We randomized 100 adults."],
        "LABELS": ["BACKGROUND", "METHODS"],
        "YEAR": "2004",
        "LONG_ANSWER": "Drug A lowered blood pressure.",
        "final_decision": "yes",
    },
    "678": {
        "QUESTION": "Is B useful?",
        "CONTEXTS": ["Unclear."],
        "LABELS": [],
        "YEAR": None,
        "LONG_ANSWER": "Maybe.",
        "final_decision": "maybe",
    },
}


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "pqal_sample.json"
    path.write_text(json.dumps(SAMPLE))
    return path


def test_corpus_records_load_with_the_pmid_as_citation_id(sample: Path, tmp_path: Path) -> None:
    result = convert_pubmedqa(sample, tmp_path / "out")
    assert result.items == 2 and result.corpus.name == "pqal_sample.corpus.jsonl"
    citations = load_file(result.corpus).citations
    first, second = citations
    assert [c.id for c in citations] == ["12345", "678"]
    assert first.title == "Does drug A lower blood pressure?" and first.year == 2004
    assert [(s.heading, s.text) for s in first.sections] == [
        ("BACKGROUND", "Hypertension is common."),
        ("METHODS", "We randomized 100 adults."),
    ]
    assert "lowered" not in first.body  # LONG_ANSWER (the conclusion) is left out
    assert second.year is None and second.sections[0].heading == ""


def test_set_entries_point_at_their_pmid(sample: Path, tmp_path: Path) -> None:
    result = convert_pubmedqa(sample, tmp_path / "out")
    questions = load_set(result.set)
    assert [(q.id, q.relevant, q.verdict) for q in questions] == [
        ("12345", ["12345"], "yes"),
        ("678", ["678"], "maybe"),
    ]
    assert questions[0].question == SAMPLE["12345"]["QUESTION"]


def test_no_title_variant_empties_titles(sample: Path, tmp_path: Path) -> None:
    result = convert_pubmedqa(sample, tmp_path / "out", with_title=False)
    assert result.corpus.name == "pqal_sample.notitle.corpus.jsonl"
    assert [c.title for c in load_file(result.corpus).citations] == ["", ""]


def test_conversion_is_byte_identical_on_rerun(sample: Path, tmp_path: Path) -> None:
    first = convert_pubmedqa(sample, tmp_path / "a")
    second = convert_pubmedqa(sample, tmp_path / "b")
    assert first.corpus.read_bytes() == second.corpus.read_bytes()
    assert first.set.read_bytes() == second.set.read_bytes()


@pytest.mark.parametrize("content", ["[]", "{}", '{"1": {"CONTEXTS": []}}', "not json"])
def test_non_pubmedqa_input_is_rejected(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(EvalSetError, match="not a PubMedQA file"):
        convert_pubmedqa(path, tmp_path / "out")


def test_pubmedqa_dev_converts_completely(shared_data: Path, tmp_path: Path) -> None:
    result = convert_pubmedqa(shared_data / "pubmedqa" / "pqal_dev.json", tmp_path)
    questions = load_set(result.set)
    citations = load_file(result.corpus).citations
    assert result.items == len(questions) == len(citations) == 500
    assert {c.id for c in citations} == {q.id for q in questions}
    assert Counter(q.verdict for q in questions) == {"yes": 276, "no": 169, "maybe": 55}
