"""The lexical side of the index: BM25 (bm25s) over stemmed tokens, persisted beside Chroma.

The BM25 index is rebuilt from the passage DB whenever the corpus version changes
(rebuilding 20k passages takes seconds, incremental BM25 statistics would be a second
source of truth). It is written to a temporary folder and renamed into place, and carries
the corpus version it was built for, so a reader can tell a stale index from a fresh one.
Per-passage filter fields (year, evidence rank, source kind) are stored as arrays so
metadata filters apply to BM25 through a weight mask, exactly as Chroma's ``where`` does.

Besides plain search, the index scores *weighted* queries (:meth:`LexicalIndex.scores`:
a sum of per-term BM25 contributions, each multiplied by the term's weight) and proposes
feedback terms (:meth:`LexicalIndex.feedback_terms`): for pseudo-relevance feedback the
retriever takes the best first-pass passages, asks which stemmed terms carry the most BM25
weight in them, and adds those terms to the query with a reduced weight (Rocchio's
formula on BM25 term weights). Both read bm25s's precomputed per-term score matrix
directly; the passage → term direction is derived once, lazily, by transposing it.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import Stemmer

from pipeline.index.passages import PassageRow, index_text, passage_metadata

_STATE = "state.json"


@lru_cache(maxsize=4)
def _stemmer(language: str) -> Any:
    return Stemmer.Stemmer(language) if language else None


def tokenize(texts: Sequence[str], stemmer: str) -> list[list[str]]:
    """Lower-case, stop-word-filtered, stemmed tokens for each text."""
    result = bm25s.tokenize(
        list(texts),
        stopwords="en",
        stemmer=_stemmer(stemmer),
        return_ids=False,
        show_progress=False,
    )
    return result  # type: ignore[no-any-return]


@dataclass
class LexicalHit:
    """One BM25 result: passage id and score."""

    passage_id: str
    score: float


class LexicalIndex:
    """A BM25 index over passage texts, with the filter fields needed for masking."""

    def __init__(
        self,
        retriever: Any,
        ids: list[str],
        fields: dict[str, np.ndarray],
        corpus_version: str,
        stemmer: str,
    ) -> None:
        self.retriever = retriever
        self.ids = ids
        self.fields = fields
        self.corpus_version = corpus_version
        self.stemmer = stemmer

    @classmethod
    def build(
        cls,
        ids: list[str],
        texts: list[str],
        fields: dict[str, list[Any]],
        *,
        corpus_version: str,
        k1: float = 1.2,
        b: float = 0.75,
        stemmer: str = "english",
    ) -> LexicalIndex:
        """Index ``texts`` (one per passage id)."""
        retriever = bm25s.BM25(k1=k1, b=b)
        if texts:
            tokens = bm25s.tokenize(
                texts, stopwords="en", stemmer=_stemmer(stemmer), show_progress=False
            )
            retriever.index(tokens, show_progress=False)
        arrays = {name: np.asarray(values) for name, values in fields.items()}
        return cls(retriever, ids, arrays, corpus_version, stemmer)

    @classmethod
    def from_rows(
        cls, rows: Iterable[PassageRow], *, corpus_version: str, k1: float, b: float, stemmer: str
    ) -> LexicalIndex:
        """Index passage-DB rows: their :func:`index_text` with the filter fields."""
        ids: list[str] = []
        texts: list[str] = []
        fields: dict[str, list[Any]] = {"year": [], "evidence_rank": [], "source_kind": []}
        for item in rows:
            meta = passage_metadata(item)
            ids.append(item.passage.id)
            texts.append(index_text(item))
            for name in fields:
                fields[name].append(meta[name])
        return cls.build(
            ids, texts, fields, corpus_version=corpus_version, k1=k1, b=b, stemmer=stemmer
        )

    def save(self, folder: Path) -> None:
        """Write the index to ``folder`` atomically (temp folder, then rename)."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".bm25-", dir=folder.parent))
        if self.ids:
            self.retriever.save(str(staging / "bm25"), show_progress=False)
        np.savez(staging / "fields.npz", **self.fields)  # type: ignore[arg-type]
        state = {
            "corpus_version": self.corpus_version,
            "ids": self.ids,
            "stemmer": self.stemmer,
            "k1": self.retriever.k1,
            "b": self.retriever.b,
        }
        (staging / _STATE).write_text(json.dumps(state))
        old = folder.with_name(folder.name + ".old")
        if folder.exists():
            folder.replace(old)
        staging.replace(folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex | None:
        """Read an index saved by :meth:`save`; ``None`` if there is none or it is unreadable."""
        try:
            state = json.loads((folder / _STATE).read_text())
            with np.load(folder / "fields.npz") as data:
                fields = {name: data[name] for name in data.files}
            if state["ids"]:
                retriever = bm25s.BM25.load(str(folder / "bm25"), show_progress=False)
            else:
                retriever = bm25s.BM25(k1=state["k1"], b=state["b"])
        except (OSError, ValueError, KeyError):
            return None
        return cls(retriever, state["ids"], fields, state["corpus_version"], state["stemmer"])

    @property
    def k1(self) -> float:
        """The BM25 term-frequency saturation the index was built with."""
        return float(self.retriever.k1)

    @property
    def b(self) -> float:
        """The BM25 length normalization the index was built with."""
        return float(self.retriever.b)

    def matches(self, *, k1: float, b: float, stemmer: str) -> bool:
        """True when the index was built with these parameters (BM25 bakes them in)."""
        return abs(self.k1 - k1) < 1e-9 and abs(self.b - b) < 1e-9 and self.stemmer == stemmer

    def query_terms(self, query: str) -> dict[int, float]:
        """The query's indexed terms as {term id: count} (unknown terms are dropped)."""
        if not self.ids:
            return {}
        vocab = self.retriever.vocab_dict
        terms: dict[int, float] = {}
        for token in tokenize([query], self.stemmer)[0]:
            term = vocab.get(token)
            if term is not None:
                terms[int(term)] = terms.get(int(term), 0.0) + 1.0
        return terms

    def scores(self, terms: dict[int, float], mask: np.ndarray | None = None) -> np.ndarray:
        """BM25 score of every passage for a weighted query ({term id: weight}).

        With all weights 1 this is exactly bm25s's own score (a repeated query term counts
        once per occurrence, as in bm25s); masked-out passages score 0.
        """
        data = self.retriever.scores["data"]
        indices = self.retriever.scores["indices"]
        indptr = self.retriever.scores["indptr"]
        out = np.zeros(len(self.ids), dtype=np.float64)
        nonoccurrence = getattr(self.retriever, "nonoccurrence_array", None)
        for term, weight in terms.items():
            start, end = int(indptr[term]), int(indptr[term + 1])
            # One term's postings name each passage at most once, so += is safe here.
            out[indices[start:end]] += weight * data[start:end]
            if nonoccurrence is not None:  # bm25l / bm25+ give absent terms a score too
                out += weight * float(nonoccurrence[term])
        if mask is not None:
            out *= mask
        return out

    def top(self, scores: np.ndarray, n: int) -> list[LexicalHit]:
        """The ``n`` best-scoring passages (score > 0), best first, ties by position."""
        n = min(n, len(self.ids))
        if n <= 0:
            return []
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [LexicalHit(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def search(self, query: str, n: int, mask: np.ndarray | None = None) -> list[LexicalHit]:
        """The ``n`` best passages for ``query`` (only those where ``mask`` is true)."""
        terms = self.query_terms(query)
        if not terms:
            return []
        return self.top(self.scores(terms, mask), n)

    @cached_property
    def _rows(self) -> dict[str, int]:
        return {pid: row for row, pid in enumerate(self.ids)}

    def row_of(self, passage_id: str) -> int | None:
        """The position of a passage in :attr:`ids` (and in score arrays), if indexed."""
        return self._rows.get(passage_id)

    @cached_property
    def _by_passage(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The score matrix transposed: (indptr per passage, term ids, BM25 weights)."""
        indices = np.asarray(self.retriever.scores["indices"])
        indptr = np.asarray(self.retriever.scores["indptr"])
        data = np.asarray(self.retriever.scores["data"])
        terms = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        order = np.argsort(indices, kind="stable")
        counts = np.bincount(indices, minlength=len(self.ids))
        starts = np.concatenate([[0], np.cumsum(counts)])
        return starts, terms[order], data[order].astype(np.float64)

    def passage_terms(self, passage_id: str) -> dict[int, float]:
        """{term id: BM25 weight} of one indexed passage (empty for unknown ids)."""
        row = self._rows.get(passage_id)
        if row is None:
            return {}
        starts, terms, weights = self._by_passage
        start, end = int(starts[row]), int(starts[row + 1])
        return dict(zip(terms[start:end].tolist(), weights[start:end].tolist(), strict=True))

    def feedback_terms(
        self, passage_ids: Sequence[str], n_terms: int, exclude: Iterable[int] = ()
    ) -> dict[int, float]:
        """The ``n_terms`` terms with the highest mean BM25 weight over ``passage_ids``.

        This is the feedback centroid of Rocchio's formula in BM25 space: a term scores high
        when it is rare in the corpus (idf) and present in several feedback passages. Terms
        in ``exclude`` (the query's own) are skipped. Weights are scaled so the best term
        has weight 1 (the caller applies its own feedback weight); ties go to the lower id.
        """
        if n_terms <= 0 or not passage_ids:
            return {}
        skip = set(exclude)
        total: dict[int, float] = {}
        for pid in passage_ids:
            for term, weight in self.passage_terms(pid).items():
                if term not in skip:
                    total[term] = total.get(term, 0.0) + weight
        best = sorted(total.items(), key=lambda item: (-item[1], item[0]))[:n_terms]
        if not best or best[0][1] <= 0:
            return {}
        top_weight = best[0][1]
        return {term: weight / top_weight for term, weight in best}

    def term_text(self, term: int) -> str:
        """The (stemmed) token of a term id, for explanations and tests."""
        return self._inverse_vocab.get(term, "")

    @cached_property
    def _inverse_vocab(self) -> dict[int, str]:
        return {int(v): str(k) for k, v in self.retriever.vocab_dict.items()}
