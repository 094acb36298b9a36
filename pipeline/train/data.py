"""Training data for ``press train``: questions, their evidence, and the passage matrix.

Sources of (question -> evidence) pairs:

* a question set in the evaluation format (:mod:`pipeline.evaluate.sets`): each question's
  ``relevant`` citation ids are its positives;
* the store's approved articles: the question an approved (or published) revision answers,
  and the citations its bullets cite (:func:`pairs_from_store`). An editorial team gains
  such pairs with every approval.

The passage side is the index's own vector collection, read once into a matrix
(:func:`load_passage_matrix`): training only moves the question encoder towards these fixed
vectors, so the index never needs re-embedding. A question's positives are every passage of
its gold citations; questions with no gold passage in the index are dropped (counted).

Honest protocol: :func:`half_of` splits questions by the parity of sha256(question id)
(``bench/bioasq_bench.py`` uses the same split), so training on half A and reporting on half
B is deterministic and independent of file order. :func:`validation_split` then holds a
further tenth of the training questions out to choose the epoch, so nothing is chosen on
the reported half.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from pipeline.errors import ConfigError

if TYPE_CHECKING:
    from pipeline.index.hybrid import Index
    from pipeline.store.db import Store
Half = Literal["A", "B", "all"]


@dataclass(frozen=True)
class TrainingQuestion:
    """One question and the citation ids of its evidence."""

    id: str
    text: str
    citations: frozenset[str]


@dataclass
class PassageMatrix:
    """The index's passage vectors (unit rows) and each row's passage and citation id."""

    vectors: np.ndarray
    passage_ids: list[str]
    citation_ids: list[str]
    rows_by_citation: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for row, cid in enumerate(self.citation_ids):
            self.rows_by_citation.setdefault(cid, []).append(row)

    def positives(self, question: TrainingQuestion) -> list[int]:
        """Rows of every passage of the question's gold citations."""
        return sorted(r for cid in question.citations for r in self.rows_by_citation.get(cid, []))


def half_of(question_id: str) -> str:
    """'A' or 'B': the parity of sha256(question id) (the benchmark's split)."""
    return "A" if int(hashlib.sha256(question_id.encode()).hexdigest(), 16) % 2 == 0 else "B"


def select_half(questions: list[TrainingQuestion], half: Half) -> list[TrainingQuestion]:
    """The questions of one half ('all' keeps every question)."""
    return questions if half == "all" else [q for q in questions if half_of(q.id) == half]


def validation_split(
    questions: list[TrainingQuestion], seed: int, share: float = 0.1
) -> tuple[list[TrainingQuestion], list[TrainingQuestion]]:
    """(train, validation): about ``share`` of the questions held out, chosen by hash + seed.

    ``share`` 0 holds nothing out: every question trains, and the loop keeps the last epoch
    (for a final model, once a held-out run has shown how many epochs to train).
    """
    if not 0 <= share < 1:
        raise ConfigError(
            f"the held-out share must be at least 0 and below 1, not {share}",
            "Pass --holdout 0.1 (the default) or --holdout 0 to train on every question.",
        )
    if share == 0:
        return list(questions), []
    buckets = max(2, round(1 / share))

    def held_out(q: TrainingQuestion) -> bool:
        digest = hashlib.sha256(f"{seed}:{q.id}".encode()).hexdigest()
        return int(digest, 16) % buckets == 0

    validation = [q for q in questions if held_out(q)]
    train = [q for q in questions if not held_out(q)]
    return train, validation


def questions_from_set(path: Path) -> list[TrainingQuestion]:
    """Questions with gold ids from an evaluation-format question set."""
    from pipeline.evaluate.sets import load_set
    return [
        TrainingQuestion(q.id, q.question, frozenset(q.relevant))
        for q in load_set(path)
        if q.relevant
    ]


def pairs_from_store(store: Store) -> list[TrainingQuestion]:
    """Questions of approved or published articles and the citations their bullets cite.

    The revision used is the approved current one, else the published one; an article
    neither approved nor published teaches nothing (its evidence is not vetted yet).
    """
    found = []
    for record in store.articles():
        state = record.state
        if state.approved_hash is not None and state.approved_hash == state.revision_hash:
            revision_id: int | None = state.revision_id
        else:
            revision_id = state.published_revision_id
        if revision_id is None:
            continue
        article = store.revision(revision_id).article()
        cited = frozenset(ref.citation_id for ref in article.references)
        if cited:
            found.append(TrainingQuestion(f"store:{record.slug}", record.question, cited))
    return found


def data_hash(questions: list[TrainingQuestion]) -> str:
    """sha256 over the questions and their gold ids, independent of their order."""
    digest = hashlib.sha256()
    for q in sorted(questions, key=lambda q: q.id):
        digest.update(json.dumps([q.id, q.text, sorted(q.citations)]).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def load_passage_matrix(index: Index, page: int = 5000) -> PassageMatrix:
    """Every vector of the index's (first) collection, with passage and citation ids."""
    collection = index.vectors.collection
    where = index.vectors.scoped(None)
    ids: list[str] = []
    cids: list[str] = []
    chunks: list[np.ndarray] = []
    offset = 0
    while True:
        got = collection.get(
            where=where, include=["embeddings", "metadatas"], limit=page, offset=offset
        )
        batch = got["ids"]
        if not batch:
            break
        ids.extend(batch)
        cids.extend(str((m or {}).get("citation_id", "")) for m in got["metadatas"] or [])
        chunks.append(np.asarray(got["embeddings"], dtype=np.float32))
        offset += len(batch)
        if len(batch) < page:
            break
    if not ids:
        raise ConfigError(
            f"The index at {index.folder} holds no vectors to train against",
            "Ingest the corpus the questions refer to first (`press ingest FILE`).",
        )
    vectors = np.concatenate(chunks)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return PassageMatrix(vectors, ids, cids)
