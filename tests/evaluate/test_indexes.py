"""Evaluation indexes: built from a corpus file, or the configured index re-embedded.

Both are reused while what shapes them is unchanged, and never touch the user's index.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import EvalSetError
from pipeline.evaluate.indexes import eval_index_dir, open_corpus_index, open_rebuilt_index
from pipeline.evaluate.retrieval import evaluate_retrieval
from pipeline.evaluate.sets import EvalQuestion
from pipeline.index.hybrid import Index
from pipeline.ingest.run import ingest
from pipeline.settings.load import load_settings
from pipeline.train.manifest import KIND_BI_ENCODER, read_manifest, write_manifest
from tests.support.trained_models import stock_model_folder

CARDS = [
    {"id": "t:metformin", "title": "Metformin as first-line therapy in type 2 diabetes",
     "abstract": "Metformin lowers blood glucose and is the usual first drug for type 2 diabetes."},
    {"id": "t:flu", "title": "Influenza vaccination in older adults",
     "abstract": "Yearly influenza vaccination reduces hospital admissions in people over 65."},
]  # fmt: skip


def _corpus(path: Path, cards: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(c) + "\n" for c in cards))
    return path


def test_corpus_index_is_built_once_and_reused(tmp_path: Path) -> None:
    from pipeline.settings.load import load_settings
    settings = load_settings(home=tmp_path / "home")
    corpus = _corpus(tmp_path / "c.jsonl", CARDS)
    first = open_corpus_index(corpus, settings)
    assert not first.reused and first.index.passage_db.counts()["citations"] == 2
    version = first.index.passage_db.corpus_version()
    first.index.close()
    copy = _corpus(tmp_path / "copy.jsonl", CARDS)  # same bytes elsewhere: same index
    second = open_corpus_index(copy, settings)
    assert second.reused and second.settings.home == first.settings.home
    assert second.index.passage_db.corpus_version() == version
    questions = [
        EvalQuestion(id="q", question="first drug for type 2 diabetes", relevant=["t:metformin"])
    ]
    report = evaluate_retrieval(questions, second.index, second.settings, corpus=str(copy))
    assert report.per_question[0].methods["fused"].ranked[0] == "t:metformin"
    second.index.close()
    changed = open_corpus_index(_corpus(tmp_path / "c.jsonl", CARDS[:1]), settings)
    assert not changed.reused and changed.settings.home != first.settings.home
    changed.index.close()


def test_an_interrupted_build_is_redone(tmp_path: Path) -> None:
    from pipeline.settings.load import load_settings
    settings = load_settings(home=tmp_path / "home")
    corpus = _corpus(tmp_path / "c.jsonl", CARDS)
    built = open_corpus_index(corpus, settings)
    built.index.close()
    (built.settings.home.parent / "ready.json").unlink()
    again = open_corpus_index(corpus, settings)
    assert not again.reused and again.index.passage_db.counts()["citations"] == 2
    assert again.settings.home != built.settings.home and not built.settings.home.exists()
    again.index.close()


def test_index_key_follows_corpus_bytes_and_index_shaping_settings(tmp_path: Path) -> None:
    from pipeline.settings.load import load_settings
    corpus = _corpus(tmp_path / "c.jsonl", CARDS)
    base = load_settings(home=tmp_path)
    folder = eval_index_dir(base, corpus)
    assert folder.parent == tmp_path / "eval-indexes"
    tuned = load_settings(home=tmp_path, retrieval={"bm25_k1": 2.0, "fusion": "zscore"})
    assert eval_index_dir(tuned, corpus) == folder
    rechunked = load_settings(home=tmp_path, chunking={"max_tokens": 128})
    assert eval_index_dir(rechunked, corpus) != folder


def test_evaluation_indexes_are_always_local(tmp_path: Path) -> None:
    from pipeline.settings.load import load_settings
    settings = load_settings(home=tmp_path / "home", index={"chroma_mode": "http"})
    built = open_corpus_index(_corpus(tmp_path / "c.jsonl", CARDS), settings)
    assert built.settings.index.chroma_mode == "persistent"
    assert built.settings.home.parent.parent == tmp_path / "home" / "eval-indexes"
    built.index.close()


def test_a_corpus_without_citations_is_rejected(tmp_path: Path) -> None:
    from pipeline.settings.load import load_settings
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": ""}\n')
    with pytest.raises(EvalSetError, match="could not be ingested"):
        open_corpus_index(bad, load_settings(home=tmp_path / "home"))


def test_a_retrained_bi_encoder_gets_an_evaluation_index_of_its_own(tmp_path: Path) -> None:
    """The key holds the model file's id: the same name retrained is another index."""
    corpus = _corpus(tmp_path / "c.jsonl", CARDS)
    stock = load_settings(home=tmp_path)
    folder = stock_model_folder(stock.models_dir, "bi", kind=KIND_BI_ENCODER)
    trained = load_settings(home=tmp_path, embeddings={"model": "bi"})
    first = eval_index_dir(trained, corpus)
    assert first != eval_index_dir(stock, corpus)
    write_manifest(folder, read_manifest(folder).model_copy(update={"model_id": "f" * 16}))
    assert eval_index_dir(trained, corpus) != first


def _home_with(tmp_path: Path, cards: list[dict[str, str]]) -> Index:
    index = Index(load_settings(home=tmp_path / "home"))
    ingest([_corpus(tmp_path / "c.jsonl", cards)], index)
    return index


def test_the_configured_index_is_re_embedded_in_a_copy_and_reused(tmp_path: Path) -> None:
    index = _home_with(tmp_path, CARDS)
    stock_model_folder(index.settings.models_dir, "bi", kind=KIND_BI_ENCODER)
    progress: list[int] = []
    rebuilt = open_rebuilt_index(index, "bi", progress=progress.append)
    assert not rebuilt.reused and sum(progress) == len(CARDS)
    assert rebuilt.settings.embeddings.model == "bi"
    assert rebuilt.settings.home.parent.parent == index.settings.home / "eval-indexes"
    assert rebuilt.index.passage_db.corpus_version() == index.passage_db.corpus_version()
    assert rebuilt.index.vectors.count() == len(CARDS)
    question = EvalQuestion(id="q", question="first drug for type 2 diabetes",
                            relevant=["t:metformin"])  # fmt: skip
    report = evaluate_retrieval([question], rebuilt.index, rebuilt.settings)
    assert report.per_question[0].methods["dense"].ranked[0] == "t:metformin"
    rebuilt.index.close()
    # The user's index still holds the stock model's vectors and opens without a rebuild.
    index.close()
    fresh = Index(index.settings)
    assert fresh.vectors.count() == len(CARDS)
    fresh.close()

    again = open_rebuilt_index(index, "bi")
    assert again.reused and again.settings.home == rebuilt.settings.home
    again.index.close()


def test_a_changed_corpus_or_model_is_re_embedded_again(tmp_path: Path) -> None:
    index = _home_with(tmp_path, CARDS[:1])
    folder = stock_model_folder(index.settings.models_dir, "bi", kind=KIND_BI_ENCODER)
    first = open_rebuilt_index(index, "bi")
    first.index.close()
    ingest([_corpus(tmp_path / "more.jsonl", CARDS[1:])], index)
    grown = open_rebuilt_index(index, "bi")
    assert not grown.reused and grown.index.vectors.count() == len(CARDS)
    assert not first.settings.home.exists()  # the stale copy is removed
    grown.index.close()
    write_manifest(folder, read_manifest(folder).model_copy(update={"model_id": "f" * 16}))
    retrained = open_rebuilt_index(index, "bi")
    assert not retrained.reused
    assert retrained.settings.home.parent != grown.settings.home.parent
    retrained.index.close()
