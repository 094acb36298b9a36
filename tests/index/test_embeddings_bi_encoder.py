"""A bi-encoder from ``press train --kind bi-encoder`` as the index's embedding model.

``embeddings.model`` names it; the index then refuses its old vectors until ``press index
rebuild`` re-embeds them, and a retrained model of the same name (other file bytes) is
refused again. The model here is a copy of the stock ONNX file under a bi-encoder
manifest, so the rebuilt index must rank exactly as the stock one does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.index.embeddings import MiniLMOnnxEmbeddings, make_embeddings
from pipeline.index.hybrid import Index
from pipeline.ingest.run import ingest
from pipeline.retrieve.retriever import HybridRetriever
from pipeline.settings.load import Settings, load_settings
from pipeline.train.manifest import KIND_BI_ENCODER, MODEL_FILE, read_manifest, write_manifest
from tests.support.trained_models import stock_model_folder

TOPICS = [
    "Intravenous immunoglobulin reduces stiffness in stiff-person syndrome.",
    "Diazepam is the first-line symptomatic treatment of muscle spasms.",
    "Glutamic acid decarboxylase antibodies are found in most patients.",
    "Rituximab showed no significant benefit in a randomized trial.",
    "Baclofen given intrathecally helps refractory spasticity.",
]
QUERY = "Does IVIG help stiff-person syndrome?"


def _home(tmp_path: Path) -> Path:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(
        "".join(
            json.dumps({"id": f"r{i}", "title": "", "abstract": text}) + "\n"
            for i, text in enumerate(TOPICS)
        )
    )
    home = tmp_path / "home"
    index = Index(load_settings(home=home))
    ingest([corpus], index)
    index.close()
    return home


def _dense_ids(settings: Settings) -> list[str]:
    index = Index(settings)
    try:
        hits = HybridRetriever(index=index, settings=settings.retrieval, mode="dense").search(
            QUERY, k=5
        )
        return [h.passage.id for h in hits]
    finally:
        index.close()


def test_naming_a_bi_encoder_needs_a_rebuild_and_then_ranks_with_it(tmp_path: Path) -> None:
    home = _home(tmp_path)
    stock = load_settings(home=home)
    stock_ids = _dense_ids(stock)
    folder = stock_model_folder(stock.models_dir, "bi", kind=KIND_BI_ENCODER)
    trained = load_settings(home=home, embeddings={"model": "bi"})

    embeddings = make_embeddings(trained)
    assert isinstance(embeddings, MiniLMOnnxEmbeddings)
    assert embeddings.model_path == folder / MODEL_FILE
    assert embeddings.name.startswith("all-MiniLM-L6-v2/bi-encoder:bi@")

    with pytest.raises(ConfigError, match="press index rebuild"):
        _dense_ids(trained)
    index = Index(trained)
    assert index.rebuild() == len(TOPICS)
    index.close()
    # The same weights as the stock file: the same ranking, now from the rebuilt vectors.
    assert _dense_ids(trained) == stock_ids

    # Retrained under the same name: another model id, so the old vectors are refused.
    manifest = read_manifest(folder)
    write_manifest(folder, manifest.model_copy(update={"model_id": "f" * 16}))
    with pytest.raises(ConfigError, match="press index rebuild"):
        _dense_ids(trained)


def test_a_missing_or_mismatched_bi_encoder_says_which_setting_to_fix(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home", embeddings={"model": "absent"})
    with pytest.raises(ConfigError, match="No bi encoder named 'absent'") as caught:
        make_embeddings(settings)
    assert "press train --kind bi-encoder" in caught.value.hint
    assert "PRESS_EMBEDDINGS__MODEL=none" in caught.value.hint

    stock_model_folder(settings.models_dir, "question-side")  # a query encoder
    wrong = load_settings(home=tmp_path / "home", embeddings={"model": "question-side"})
    with pytest.raises(ConfigError, match="not a bi encoder") as caught:
        make_embeddings(wrong)
    assert "retrieval.query_model" in caught.value.hint

    remote = load_settings(
        home=tmp_path / "home", embeddings={"model": "question-side", "backend": "openai"},
        llm={"api_key": "sk-test"},
    )  # fmt: skip
    with pytest.raises(ConfigError, match=r"needs embeddings\.backend=minilm-onnx"):
        make_embeddings(remote)


def test_embeddings_model_none_means_the_stock_model(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home", embeddings={"model": "none"})
    assert settings.embeddings.model is None
    embeddings = make_embeddings(settings)
    assert isinstance(embeddings, MiniLMOnnxEmbeddings) and embeddings.model_path is None
