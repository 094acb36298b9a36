"""The lexical side of the index: BM25 (bm25s) over stemmed tokens, persisted beside Chroma.

The BM25 index is rebuilt from the passage store whenever the corpus version changes
(rebuilding 20k passages takes seconds, incremental BM25 statistics would be a second
source of truth). It is written to a temporary folder and renamed into place, and carries
the corpus version it was built for, so a reader can tell a stale index from a fresh one.
Per-passage filter fields (year, evidence rank, source kind) are stored as arrays so
metadata filters apply to BM25 through a weight mask, exactly as Chroma's ``where`` does.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import Stemmer

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

    def search(self, query: str, n: int, mask: np.ndarray | None = None) -> list[LexicalHit]:
        """The ``n`` best passages for ``query`` (only those where ``mask`` is true)."""
        if not self.ids:
            return []
        vocab = self.retriever.vocab_dict
        tokens = [t for t in tokenize([query], self.stemmer)[0] if t in vocab]
        if not tokens:
            return []
        weights = mask.astype(np.float32) if mask is not None else None
        scores = self.retriever.get_scores(tokens, weight_mask=weights)
        n = min(n, len(self.ids))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [LexicalHit(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]
