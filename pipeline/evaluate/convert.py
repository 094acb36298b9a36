"""Converters from published QA datasets to a corpus file plus a question set.

Design
------
PubMedQA (``pqal_*.json``: an object keyed by PMID whose items hold ``QUESTION``,
``CONTEXTS``, ``LABELS``, ``YEAR``, ``final_decision`` …) becomes:

* a **corpus** in canonical citation JSONL, one record per PMID: ``id`` and ``pmid`` are
  the PMID string exactly (so the citation id is that string and a set can refer to it),
  ``title`` is ``QUESTION`` (PubMedQA took it from the article's title), ``year`` is
  ``YEAR``, and ``sections`` holds one section per context, headed by its ``LABELS``
  entry (``BACKGROUND``, ``METHODS`` …). ``LONG_ANSWER`` (the abstract's conclusion, i.e.
  the answer) is deliberately *not* included, as in PubMedQA's reasoning-required setting;
* a **question set**: ``id`` = PMID, ``question`` = ``QUESTION``, ``relevant`` = [PMID],
  ``verdict`` = ``final_decision``.

Records are written in the input's key order, so the same input gives byte-identical
files. The input is read in place and nothing from it is kept in the repository: the
default output folder is under ``outputs/`` (git-ignored).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from pipeline.errors import EvalSetError
from pipeline.evaluate.sets import EvalQuestion, write_set

__all__ = ["ConvertResult", "convert_pubmedqa", "pubmedqa_records"]


class ConvertResult(BaseModel):
    """Where a conversion wrote its corpus and set, and how many items."""

    model_config = ConfigDict(extra="forbid")

    corpus: Path
    set: Path
    items: int


def _bad(path: Path, detail: str) -> EvalSetError:
    return EvalSetError(
        f"{path} is not a PubMedQA file: {detail}",
        "Pass a PubMedQA JSON object keyed by PMID, e.g. pqal_dev.json.",
    )


def pubmedqa_records(
    path: Path, *, with_title: bool = True
) -> list[tuple[dict[str, Any], EvalQuestion]]:
    """(corpus record, question) pairs for every item of a PubMedQA JSON file.

    ``with_title=False`` leaves every title empty (see :func:`convert_pubmedqa`).
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _bad(path, str(exc)) from exc
    if not isinstance(data, dict) or not data:
        raise _bad(path, "expected a non-empty JSON object keyed by PMID")
    out: list[tuple[dict[str, Any], EvalQuestion]] = []
    for pmid, item in data.items():
        if not isinstance(item, dict) or not isinstance(item.get("QUESTION"), str):
            raise _bad(path, f"item {pmid!r} has no QUESTION")
        contexts = [c for c in item.get("CONTEXTS") or [] if isinstance(c, str) and c.strip()]
        labels = list(item.get("LABELS") or [])
        labels += [""] * (len(contexts) - len(labels))
        record: dict[str, Any] = {
            "id": str(pmid),
            "pmid": str(pmid),
            "title": item["QUESTION"] if with_title else "",
            "sections": [
                {"heading": str(label or "").strip(), "text": text}
                for label, text in zip(labels, contexts, strict=False)
            ],
        }
        if item.get("YEAR"):
            record["year"] = str(item["YEAR"])
        decision = item.get("final_decision")
        question = EvalQuestion(
            id=str(pmid),
            question=item["QUESTION"],
            relevant=[str(pmid)],
            verdict=decision if decision in ("yes", "no", "maybe") else None,
        )
        out.append((record, question))
    return out


def convert_pubmedqa(path: Path, out_dir: Path, *, with_title: bool = True) -> ConvertResult:
    """Write ``<stem>.corpus.jsonl`` and ``<stem>.set.jsonl`` for a PubMedQA file.

    With ``with_title=False`` the corpus is ``<stem>.notitle.corpus.jsonl`` and its titles
    are empty: a PubMedQA question *is* its article's title, and the index embeds and
    BM25-indexes the title with every passage, so with titles retrieval is a near-exact
    title lookup; without them the question must be matched against the abstract body.
    """
    pairs = pubmedqa_records(path, with_title=with_title)
    out_dir.mkdir(parents=True, exist_ok=True)
    corpus = out_dir / f"{path.stem}{'' if with_title else '.notitle'}.corpus.jsonl"
    questions = out_dir / f"{path.stem}.set.jsonl"
    with corpus.open("w", encoding="utf-8") as handle:
        for record, _ in pairs:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    write_set(questions, (q for _, q in pairs))
    return ConvertResult(corpus=corpus, set=questions, items=len(pairs))
