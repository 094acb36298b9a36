"""Question sets and evaluation corpora: the file formats every evaluation reads.

Design
------
A *question set* is JSONL, one object per line (blank lines allowed)::

    {"id": str, "question": str, "relevant": [citation ids],
     "verdict": "yes"|"no"|"maybe" (optional), "answerable": bool (optional, default true),
     "audience": "clinician"|"patient" (optional)}

Unknown keys (BioASQ's ``"type"``, notes, tags) are accepted and ignored, so sets exported
by other tools load unchanged. ``relevant`` holds *citation* ids, i.e. what the ingest
stage assigns (``pmid:<PMID>``, ``doi:<doi>``, or a record's explicit ``id``), so a set can
be scored against any corpus whose records carry those ids. A question marked
``answerable: false`` is expected to have no gold ids: the corpus does not answer it and
the drafter should abstain.

An *evaluation corpus* is any canonical citation JSONL file; when a record has an ``id``
that string is its citation id. :func:`corpus_digest` fingerprints the file so an index
built from it can be reused while the bytes are unchanged.

Problems are reported as :class:`~pipeline.errors.EvalSetError` (bad input, exit code 2)
naming the file and line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.errors import EvalSetError
from pipeline.models.article import Audience

__all__ = ["EvalQuestion", "GoldVerdict", "corpus_digest", "load_set", "write_set"]

GoldVerdict = Literal["yes", "no", "maybe"]


class EvalQuestion(BaseModel):
    """One question of a set, with its gold citation ids and optional expectations."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(min_length=1, description="Unique id within the set.")
    question: str = Field(min_length=1, description="The question as a user would ask it.")
    relevant: list[str] = Field(
        default_factory=list, description="Gold citation ids (empty for unanswerable ones)."
    )
    verdict: GoldVerdict | None = Field(None, description="Expected yes/no/maybe answer.")
    answerable: bool = Field(True, description="False when the corpus cannot answer it.")
    audience: Audience | None = Field(
        None, description="Audience to draft for (default: settings)."
    )


def load_set(path: Path) -> list[EvalQuestion]:
    """Read a question set; raises :class:`EvalSetError` naming the bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EvalSetError(
            f"cannot read the question set {path}: {exc.strerror or exc}",
            "Pass an existing JSONL file, e.g. --set evals/sets/demo.jsonl.",
        ) from exc
    questions: list[EvalQuestion] = []
    seen: set[str] = set()
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}: line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalSetError(
                f"{where} is not valid JSON ({exc.msg} at column {exc.colno})",
                "Each line must be one JSON object with id, question and relevant.",
            ) from exc
        if not isinstance(record, dict):
            raise EvalSetError(f"{where} is not a JSON object", "Write one object per line.")
        try:
            question = EvalQuestion.model_validate(record)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "record"
            raise EvalSetError(
                f"{where}: {field}: {first['msg']}",
                'Expected {"id": str, "question": str, "relevant": [ids], "verdict": '
                '"yes"|"no"|"maybe", "answerable": bool, "audience": "clinician"|"patient"}.',
            ) from exc
        if question.id in seen:
            raise EvalSetError(
                f"{where}: duplicate question id {question.id!r}", "Ids must be unique."
            )
        seen.add(question.id)
        questions.append(question)
    if not questions:
        raise EvalSetError(f"the question set {path} holds no questions", "Add JSONL lines.")
    return questions


def write_set(path: Path, questions: Iterable[EvalQuestion]) -> int:
    """Write questions as JSONL (unset optional fields left out); returns how many."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for question in questions:
            data = question.model_dump(exclude_defaults=True)
            data.setdefault("relevant", [])
            ordered = {key: data[key] for key in EvalQuestion.model_fields if key in data}
            handle.write(json.dumps(ordered, ensure_ascii=False) + "\n")
            count += 1
    return count


def corpus_digest(path: Path) -> str:
    """sha256 of a corpus file's bytes (hex), read in blocks."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise EvalSetError(
            f"cannot read the corpus {path}: {exc.strerror or exc}",
            "Pass an existing canonical citation JSONL file with --corpus.",
        ) from exc
    return digest.hexdigest()
