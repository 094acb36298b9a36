"""The build manifest: valid files load, every mistake is a ConfigError naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.build.manifest import load_manifest
from pipeline.errors import ConfigError
from tests.build.helpers import QUESTIONS, write_manifest

REPO = Path(__file__).resolve().parents[2]


def test_demo_manifest_covers_the_demo_set_and_the_reference_question() -> None:
    manifest = load_manifest(REPO / "evals" / "manifests" / "demo.yaml")
    questions = manifest.build_questions()
    lines = (REPO / "evals" / "sets" / "demo.jsonl").read_text().splitlines()
    in_set = {
        (json.loads(x)["question"], json.loads(x).get("audience", "clinician")) for x in lines
    }
    assert {(q.question, q.audience) for q in questions} == in_set
    assert any(q.question.startswith("Is IVIG medically necessary") for q in questions)


def test_questions_file_relative_to_manifest_with_audiences(tmp_path: Path) -> None:
    sub = tmp_path / "m"
    sub.mkdir()
    (tmp_path / "qs.jsonl").write_text(
        json.dumps({"question": QUESTIONS[0]}) + "\n"
        + json.dumps({"question": QUESTIONS[1], "audience": "patient"}) + "\n"
    )  # fmt: skip
    path = write_manifest(
        sub, questions_file="../qs.jsonl", questions=[QUESTIONS[0]],
        audiences=["clinician", "patient"],
    )  # fmt: skip
    pairs = [(q.question, q.audience) for q in load_manifest(path).build_questions()]
    assert pairs == [
        (QUESTIONS[0], "clinician"),
        (QUESTIONS[0], "patient"),
        (QUESTIONS[1], "patient"),
    ]


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"questionz": ["x"]}, "questionz"),
        ({"audiences": ["vet"]}, "audiences.0"),
        ({"concurrency": 0}, "concurrency"),
        ({"eval": {"set": "s.jsonl", "tolerances": {"citation_support": -1}}},
         "eval.tolerances.citation_support"),
        ({"rate_limit": {"requests_per_minute": 0}}, "rate_limit.requests_per_minute"),
        ({"schedule_at": "25:00"}, "schedule_at"),
        ({"drafter": "gpt"}, "drafter"),
    ],
)  # fmt: skip
def test_mistakes_name_the_field(tmp_path: Path, fields: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_manifest(write_manifest(tmp_path, **fields))
    assert named in info.value.message
    assert info.value.exit_code == 2


def test_unreadable_and_malformed_manifests(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Cannot read"):
        load_manifest(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("questions: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_manifest(bad)
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_manifest(bad)


def test_no_questions_and_bad_question_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no questions"):
        load_manifest(write_manifest(tmp_path, questions=[])).build_questions()
    (tmp_path / "q.jsonl").write_text('{"text": "no question key"}\n')
    manifest = load_manifest(write_manifest(tmp_path, questions=[], questions_file="q.jsonl"))
    with pytest.raises(ConfigError, match=r"q.jsonl:1"):
        manifest.build_questions()
