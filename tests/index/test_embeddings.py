"""The offline MiniLM backend matches sentence-transformers' fp32 vectors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import ConfigError
from pipeline.index.embeddings import MiniLMOnnxEmbeddings, embedding_name, make_embeddings
from pipeline.settings.load import load_settings

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "minilm_reference.json"


@pytest.fixture(scope="module")
def model() -> MiniLMOnnxEmbeddings:
    return MiniLMOnnxEmbeddings()


def test_vectors_match_pinned_fp32_reference(model: MiniLMOnnxEmbeddings) -> None:
    reference = json.loads(REFERENCE.read_text())
    expected = np.array(reference["vectors"], dtype=np.float32)
    got = model.embed_array(reference["texts"])
    cosines = (got * expected).sum(axis=1) / np.linalg.norm(expected, axis=1)
    assert cosines.min() >= 0.999, cosines


def test_batching_and_padding_do_not_change_vectors(model: MiniLMOnnxEmbeddings) -> None:
    texts = ["short", "a considerably longer sentence about intravenous immunoglobulin " * 4]
    together = model.embed_array(texts)
    alone = np.vstack([model.embed_array([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-5)


def test_langchain_interface_and_unit_length(model: MiniLMOnnxEmbeddings) -> None:
    vectors = model.embed_documents(["one", "two"])
    assert len(vectors) == 2 and len(vectors[0]) == 384
    assert abs(np.linalg.norm(model.embed_query("three")) - 1.0) < 1e-5
    assert model.embed_array([]).shape == (0, 384)


def test_related_texts_are_closer_than_unrelated(model: MiniLMOnnxEmbeddings) -> None:
    q, near, far = model.embed_array(
        ["treatment of stiff person syndrome", "IVIG therapy for stiff-man syndrome", "tax law"]
    )
    assert float(q @ near) > float(q @ far) + 0.2


def test_factory_builds_the_configured_backend() -> None:
    assert embedding_name(make_embeddings(load_settings())) == "all-MiniLM-L6-v2/onnx-int8"


def test_openai_backend_without_endpoint_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PRESS_EMBEDDINGS__BACKEND", "openai")
    with pytest.raises(ConfigError):
        make_embeddings(load_settings())
