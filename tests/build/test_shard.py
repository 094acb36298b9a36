"""--shard I/N: parsing, and a partition that is complete, disjoint and stable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipeline.build.manifest import BuildQuestion
from pipeline.build.shard import Shard, parse_shard, select, shard_of
from pipeline.errors import InputError


def _questions(n: int) -> list[BuildQuestion]:
    return [
        BuildQuestion(
            question=f"Question number {i}?", audience="patient" if i % 3 else "clinician"
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("spec", ["0/3", "4/3", "1/0", "a/b", "1-3", "", "2/"])
def test_bad_specs_are_config_errors(spec: str) -> None:
    with pytest.raises(InputError, match="shard"):
        parse_shard(spec)


def test_good_spec() -> None:
    assert parse_shard(" 2 / 3 ") == Shard(2, 3)
    assert str(Shard(2, 3)) == "2/3"


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_shards_partition_the_questions(count: int) -> None:
    questions = _questions(60)
    parts = [select(questions, Shard(i, count)) for i in range(1, count + 1)]
    flat = [q for part in parts for q in part]
    assert sorted(flat, key=lambda q: q.question) == sorted(questions, key=lambda q: q.question)
    assert len(flat) == len(questions)  # disjoint
    if count > 1:
        assert all(parts), "every shard gets some of 60 questions"
    assert select(questions, None) == questions


def test_assignment_does_not_depend_on_the_process_or_the_list() -> None:
    questions = _questions(20)
    here = [shard_of(q.question, q.audience, 5) for q in questions]
    code = (
        "from pipeline.build.shard import shard_of\n"
        "print([shard_of(f'Question number {i}?', 'patient' if i % 3 else 'clinician', 5) "
        "for i in range(20)])"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
    )  # fmt: skip
    assert other.stdout.strip() == str(here)
    # Adding questions never moves an existing one to another shard.
    grown = _questions(40)
    assert [shard_of(q.question, q.audience, 5) for q in grown[:20]] == here
    # The audience is part of the key.
    assert shard_of("Same question?", "clinician", 1000) != shard_of(
        "Same question?", "patient", 1000
    )
