"""Cross-encoder reranking of the fused first stage (opt-in; onnxruntime, no torch).

Why a reranker: the fused retriever's top 50 holds most of the gold evidence (perfect
reordering of it would lift BioASQ recall@10 from ~0.87 to 0.93), but a bi-encoder scores
question and passage apart. A cross-encoder reads them *together* (one MiniLM pass over
``[CLS] question [SEP] passage [SEP]``) and so sees which passage answers the question; it
is trained by ``press train --kind reranker`` on question -> evidence pairs with hard
negatives from the retriever's own top-k (:mod:`pipeline.train.reranker`).

Cost: one transformer pass per (question, candidate) pair, so it is a setting and off by
default: ``retrieval.rerank_model`` (a model folder under ``<home>/models/``; None = off)
and ``retrieval.rerank_top_k`` (how many fused candidates it reorders; the rest keep their
fused order after them). Latency grows linearly with ``rerank_top_k`` (see
``bench/train_bench.py``).

Blending: the final order of the head is ``z(reranker) + rerank_weight * z(fused)``, both
standardized over the head, so a reranker that is unsure (flat scores) leaves the first
stage's order in place; ``rerank_weight`` is chosen on training questions only. The passage's
``score`` field keeps its fused score (it is the first stage's evidence strength, used by
nothing that assumes the list is sorted by it).

The model file is ``model.onnx`` (inputs ``input_ids``, ``attention_mask``,
``token_type_ids``; output ``scores``, one logit per pair) beside the MiniLM
``tokenizer.json`` it was trained with, loaded once per folder and kept (:func:`load_reranker`).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tokenizers import Tokenizer

from pipeline.train.manifest import MODEL_FILE, TOKENIZER_FILE, load_reranker_folder

if TYPE_CHECKING:
    from pipeline.index.hybrid import Index
    from pipeline.settings.corpus import RetrievalSettings
DEFAULT_MAX_TOKENS = 128
_CACHE: dict[tuple[str, float, int], Reranker] = {}
_LOCK = threading.Lock()


class Reranker:
    """A trained cross-encoder on onnxruntime: scores (question, passage) pairs."""

    def __init__(self, folder: Path, *, max_tokens: int = DEFAULT_MAX_TOKENS, threads: int = 0):
        # onnxruntime on first use: 0.24 s of import; the reranker is opt-in and this module
        # is imported by every retriever
        import onnxruntime as ort

        self.folder = folder
        tokenizer = Tokenizer.from_str((folder / TOKENIZER_FILE).read_text(encoding="utf-8"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_tokens, strategy="longest_first")
        self.tokenizer = tokenizer
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or (os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(
            str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )

    def score(self, question: str, texts: list[str], batch: int = 16) -> np.ndarray:
        """One relevance logit per passage text (higher = more likely to answer)."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        encodings = self.tokenizer.encode_batch([(question, text) for text in texts])
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        scores = np.zeros(len(texts), dtype=np.float32)
        for start in range(0, len(order), batch):
            rows = order[start : start + batch]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            types = np.zeros_like(ids)
            mask = np.zeros_like(ids)
            for r, i in enumerate(rows):
                enc = encodings[i]
                ids[r, : len(enc.ids)] = enc.ids
                types[r, : len(enc.ids)] = enc.type_ids
                mask[r, : len(enc.ids)] = 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            (out,) = self.session.run(["scores"], feed)
            scores[rows] = np.asarray(out, dtype=np.float32).reshape(-1)
        return scores


def zscores(values: np.ndarray) -> np.ndarray:
    """Standardized values (all zeros when they do not vary)."""
    std = float(values.std())
    return (values - values.mean()) / std if std > 1e-9 else np.zeros_like(values)


def blended_order(
    ids: list[str], first_stage: np.ndarray, rerank: np.ndarray, weight: float
) -> list[str]:
    """``ids`` sorted by z(rerank) + weight * z(first_stage), ties by first-stage order."""
    final = zscores(np.asarray(rerank, dtype=np.float64)) + weight * zscores(
        np.asarray(first_stage, dtype=np.float64)
    )
    return [ids[i] for i in sorted(range(len(ids)), key=lambda i: (-final[i], i))]


def load_reranker(models_dir: Path, name: str, threads: int = 0) -> Reranker:
    """The reranker ``name`` (loaded once per folder, manifest time and thread count).

    A missing or wrong model is a :class:`~pipeline.errors.ConfigError` with a fix-it hint
    (like a missing ``query_model``).
    """
    folder, manifest = load_reranker_folder(models_dir, name)
    key = (str(folder), (folder / "manifest.json").stat().st_mtime, threads)
    with _LOCK:
        found = _CACHE.get(key)
        if found is None:
            max_tokens = int(manifest.hyperparameters.get("max_tokens", DEFAULT_MAX_TOKENS))
            found = _CACHE[key] = Reranker(folder, max_tokens=max_tokens, threads=threads)
    return found


def rerank_ranked(
    index: Index, settings: RetrievalSettings, query: str, ranked: list[str],
    fused: dict[str, float], timings: dict[str, float] | None = None,
) -> list[str]:  # fmt: skip
    """``ranked`` with its first ``settings.rerank_top_k`` reordered by the reranker.

    Passages beyond the head keep their fused order after it; ids without a stored passage
    stay where the fused order put them inside the head's tail (they are skipped later).
    """
    if not settings.rerank_model or not ranked:
        return ranked
    start = time.perf_counter()
    reranker = load_reranker(
        index.settings.models_dir, settings.rerank_model, index.settings.embeddings.threads
    )
    head = ranked[: settings.rerank_top_k]
    stored = index.passage_db.get(head)
    known = [pid for pid in head if stored.get(pid) is not None]
    texts = [_text(stored[pid]) for pid in known]
    scores = reranker.score(query, texts)
    first = np.array([fused[pid] for pid in known], dtype=np.float64)
    order = blended_order(known, first, scores, settings.rerank_weight)
    missing = [pid for pid in head if stored.get(pid) is None]
    if timings is not None:
        timings["rerank_ms"] = (time.perf_counter() - start) * 1000
    return order + missing + ranked[settings.rerank_top_k :]


def _text(item: Any) -> str:
    return str(item.passage.text)
