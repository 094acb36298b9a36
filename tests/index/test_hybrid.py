"""The optional second model's collection follows the store like the first one does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from pipeline.index.hybrid import Index
from pipeline.ingest.run import ingest
from pipeline.settings.load import load_settings


class CountingEmbeddings(Embeddings):
    """Deterministic 4-d vectors from the text's hash; counts what it embedded."""

    dimension = 4

    def __init__(self, name: str) -> None:
        self.name = name
        self.embedded: list[str] = []

    def embed_array(self, texts: list[str]) -> np.ndarray:
        self.embedded.extend(texts)
        rows = [np.random.default_rng(abs(hash(t)) % 2**32).normal(size=4) for t in texts]
        out = np.asarray(rows, dtype=np.float32).reshape(len(texts), 4)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_array([text])[0].tolist()  # type: ignore[no-any-return]


def _write(path: Path, n: int) -> None:
    records = [
        {"id": f"r{i}", "title": "", "abstract": f"passage number {i} about topic {i % 3}"}
        for i in range(n)
    ]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")


def test_second_collection_is_filled_on_demand_and_pruned(tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    _write(corpus, 6)
    home = tmp_path / "home"
    first = CountingEmbeddings("first")
    off = Index(load_settings(home=home), first)
    ingest([corpus], off)
    assert off.second_vectors is None
    assert len(first.embedded) == 6
    off.close()

    on_settings = load_settings(home=home, retrieval={"second_model": "e5-small"})
    first_again, second = CountingEmbeddings("first"), CountingEmbeddings("second")
    on = Index(on_settings, first_again, second_embeddings=second)
    report = ingest([corpus], on)  # unchanged file: only the new collection is filled
    assert on.second_vectors is not None
    assert on.second_vectors.count() == 6 and len(second.embedded) == 6
    assert first_again.embedded == [] and report.embedded == 0

    ingest([corpus], on)  # nothing new anywhere
    assert len(second.embedded) == 6 and first_again.embedded == []

    _write(corpus, 4)  # two passages vanish, none is new
    ingest([corpus], on)
    assert on.vectors.count() == 4
    assert on.second_vectors.count() == 4  # orphans removed from the second collection too
    assert len(second.embedded) == 6
    on.close()


def test_rebuild_re_embeds_with_a_changed_embedding_model(tmp_path: Path) -> None:
    """Changing the model makes opening the index refuse; `press index rebuild` must not.

    The refusal's hint is "run `press index rebuild` to re-embed", so the rebuild has to
    open the collection without the model check, re-create it under the new model's name
    and embed every passage with the new model.
    """
    corpus = tmp_path / "c.jsonl"
    _write(corpus, 5)
    home = tmp_path / "home"
    old = Index(load_settings(home=home), CountingEmbeddings("old"))
    ingest([corpus], old)
    old.close()

    new_model = CountingEmbeddings("new")
    new = Index(load_settings(home=home), new_model)
    assert new.rebuild() == 5
    assert len(new_model.embedded) == 5
    assert new.vectors.collection.metadata["embedding_model"] == "new"
    assert new.check()["vectors"] == 5
    new.close()
    again = Index(load_settings(home=home), CountingEmbeddings("new"))
    assert again.vectors.count() == 5
    again.close()
