"""Train a cross-encoder reranker on question -> evidence pairs with hard negatives (torch).

Design
------
Body: the same installed MiniLM weights the question encoder starts from
(:func:`pipeline.train.query_encoder.load_base_model`), optionally cut to its first
``layers`` layers (:func:`truncated`: fewer layers train and rerank faster on a busy CPU;
the default keeps and trains all six, which validated best on half A), reading the *pair*
``[CLS] question [SEP] passage [SEP]`` (token type 1 for the passage), mean-pooled, then a
linear head to one logit. Embeddings and all but the top ``trainable_layers`` layers are
frozen (no backward pass through them; the few thousand pairs would only overfit them).

Data: for each training question the first stage's top ``depth`` passages
(:func:`pipeline.train.candidates.mine_candidates`, i.e. exactly what the reranker will be
asked to reorder). One *group* per question and epoch: one gold passage among them
(rotating over the gold ones from epoch to epoch) and ``negatives`` non-gold passages drawn
from the same list — hard negatives by construction, since the retriever ranked them high.

Loss: listwise softmax cross-entropy over each group (the gold passage should win against
its negatives), ``questions_per_step`` groups per optimizer step; AdamW with warm-up, a
higher learning rate for the fresh head.

Choosing without peeking: after every epoch the held-out tenth of the training questions
(:func:`pipeline.train.data.validation_split`) is reranked (first ``validation_top_k``
candidates, reranker alone) and its recall@10 recorded; the best epoch's weights are kept.
The first stage's own recall on the same lists is recorded as "before". Checkpoint,
resume, time cap, run fingerprint and the choice of epoch are the shared loop's
(:mod:`pipeline.train.loop`), as for the question encoder.

Export: ONNX (inputs ``input_ids``, ``attention_mask``, ``token_type_ids``; output
``scores``), then dynamic int8 quantization of the linear layers (``quantize``: ~4x smaller,
faster on CPU), run by :mod:`pipeline.retrieve.rerank` without torch.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer

from pipeline.errors import ConfigError
from pipeline.train import loop
from pipeline.train.candidates import Candidate, ranking_metrics
from pipeline.train.data import TrainingQuestion
from pipeline.train.loop import Job, ProgressFn, Schedule, TrainResult
from pipeline.train.manifest import CHECKPOINT
from pipeline.train.query_encoder import finish_onnx, load_base_model


@dataclass(frozen=True)
class RerankConfig:
    """Hyperparameters of one reranker training run (all recorded in the manifest)."""

    epochs: int = 3
    questions_per_step: int = 8
    negatives: int = 3
    depth: int = 30
    max_tokens: int = 96
    # Chosen on half A's held-out slice (reranker alone, recall@10): 6 trained layers x 3
    # epochs 0.853 > 4 layers (top 2 trained) x 4 epochs 0.828 > x 2 epochs 0.811.
    layers: int = 6
    trainable_layers: int = 6
    learning_rate: float = 3e-5
    head_learning_rate: float = 1e-3
    warmup_steps: int = 10
    validation_top_k: int = 20
    quantize: bool = True
    seed: int = 0
    threads: int = 0
    checkpoint_every: int = 10

    def fingerprint(self) -> dict[str, Any]:
        """What must match for a checkpoint to be resumed."""
        values = asdict(self)
        for volatile in ("threads", "checkpoint_every", "quantize", "validation_top_k"):
            values.pop(volatile)
        return values


def truncated(transformer: torch.nn.Module, config: RerankConfig) -> torch.nn.Module:
    """The first ``layers`` layers of MiniLM, all but the top ``trainable_layers`` frozen.

    Training cost on this CPU decides: each dropped layer cuts training *and* query-time
    cost by a sixth, and frozen lower layers need no backward pass; the embeddings are
    always frozen (the few thousand training pairs would only overfit them).
    """
    body: Any = transformer
    body.encoder.layer = body.encoder.layer[: config.layers]
    body.config.num_hidden_layers = len(body.encoder.layer)
    for parameter in body.embeddings.parameters():
        parameter.requires_grad_(False)
    for layer in body.encoder.layer[: max(0, len(body.encoder.layer) - config.trainable_layers)]:
        for parameter in layer.parameters():
            parameter.requires_grad_(False)
    return transformer


def pair_tokenizer(max_tokens: int) -> Tokenizer:
    """The shipped MiniLM tokenizer for (question, passage) pairs, longest-first truncation."""
    text = (resources.files("pipeline") / "assets/minilm/tokenizer.json").read_text("utf-8")
    tokenizer = Tokenizer.from_str(text)
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_tokens, strategy="longest_first")
    return tokenizer


def pair_tensors(
    tokenizer: Tokenizer, pairs: list[tuple[str, str]]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Ids, attention mask and token types of a padded batch of pairs."""
    encodings = tokenizer.encode_batch(pairs)
    width = max(len(e.ids) for e in encodings)
    ids = torch.zeros((len(pairs), width), dtype=torch.long)
    mask = torch.zeros_like(ids)
    types = torch.zeros_like(ids)
    for row, enc in enumerate(encodings):
        ids[row, : len(enc.ids)] = torch.tensor(enc.ids)
        types[row, : len(enc.ids)] = torch.tensor(enc.type_ids)
        mask[row, : len(enc.ids)] = 1
    return ids, mask, types


class CrossEncoder(torch.nn.Module):
    """MiniLM over the pair, mean pooling, a linear head: one relevance logit per pair."""

    def __init__(self, transformer: torch.nn.Module) -> None:
        super().__init__()
        self.transformer = transformer
        self.head = torch.nn.Linear(384, 1)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        """Logits, shape (batch,)."""
        out = self.transformer(input_ids=ids, attention_mask=mask, token_type_ids=types)
        hidden = out.last_hidden_state
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return self.head(pooled).squeeze(-1)  # type: ignore[no-any-return]


def forward_sorted(
    model: CrossEncoder, tokenizer: Tokenizer, pairs: list[tuple[str, str]], chunk: int = 8
) -> torch.Tensor:
    """Logits of ``pairs`` in their order, computed in length-sorted chunks.

    Padding a whole step to its longest pair wasted about half the compute (passages run
    from ~20 to 128 word pieces); chunks of similar length pad little, and the gradient is
    the same.
    """
    lengths = [len(e.ids) for e in tokenizer.encode_batch(pairs)]
    order = sorted(range(len(pairs)), key=lambda i: lengths[i])
    parts = [
        model(*pair_tensors(tokenizer, [pairs[i] for i in order[start : start + chunk]]))
        for start in range(0, len(order), chunk)
    ]
    logits = torch.cat(parts)
    inverse = torch.empty(len(order), dtype=torch.long)
    inverse[torch.tensor(order)] = torch.arange(len(order))
    return logits[inverse]


def score_texts(
    model: CrossEncoder, tokenizer: Tokenizer, question: str, texts: list[str], batch: int = 32
) -> np.ndarray:
    """Logits of (question, text) pairs without gradients."""
    model.eval()
    parts = []
    with torch.no_grad():
        for start in range(0, len(texts), batch):
            pairs = [(question, t) for t in texts[start : start + batch]]
            parts.append(model(*pair_tensors(tokenizer, pairs)).numpy())
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def validate(
    model: CrossEncoder,
    tokenizer: Tokenizer,
    questions: list[TrainingQuestion],
    candidates: dict[str, list[Candidate]],
    top_k: int,
) -> dict[str, float]:
    """Recall@10 / hit@1 / MRR@10 after reranking each question's first ``top_k`` alone."""
    rankings, golds = [], []
    for q in questions:
        head = candidates[q.id][:top_k]
        scores = score_texts(model, tokenizer, q.text, [c.text for c in head])
        order = sorted(range(len(head)), key=lambda i: (-scores[i], i))
        rankings.append([head[i].citation_id for i in order])
        golds.append(q.citations)
    return ranking_metrics(rankings, golds)


def first_stage_metrics(
    questions: list[TrainingQuestion], candidates: dict[str, list[Candidate]]
) -> dict[str, float]:
    """The same metrics for the first stage's own order (the 'before' of the manifest)."""
    rankings = [[c.citation_id for c in candidates[q.id]] for q in questions]
    return ranking_metrics(rankings, [q.citations for q in questions])


def _groups(
    train: list[TrainingQuestion], candidates: dict[str, list[Candidate]], config: RerankConfig
) -> list[tuple[TrainingQuestion, list[str], list[str]]]:
    """(question, gold texts, negative texts) of every question that has both."""
    found = []
    for q in train:
        head = candidates.get(q.id, [])[: config.depth]
        gold = [c.text for c in head if c.citation_id in q.citations]
        negative = [c.text for c in head if c.citation_id not in q.citations]
        if gold and negative:
            found.append((q, gold, negative))
    return found


class _RerankerJob(Job):
    """The cross-encoder as the shared loop drives it (see :func:`train_reranker`)."""

    def __init__(
        self,
        groups: list[tuple[TrainingQuestion, list[str], list[str]]],
        validation: list[TrainingQuestion],
        candidates: dict[str, list[Candidate]],
        config: RerankConfig,
        base_folder: Path | None,
    ) -> None:
        self.groups, self.validation, self.candidates, self.config = (
            groups, validation, candidates, config
        )  # fmt: skip
        self.model = self.cross = CrossEncoder(truncated(load_base_model(base_folder), config))
        self.tokenizer = pair_tokenizer(config.max_tokens)
        body = [p for n, p in self.model.named_parameters()
                if p.requires_grad and not n.startswith("head")]  # fmt: skip
        self.optimizer = torch.optim.AdamW([
            {"params": body, "lr": config.learning_rate},
            {"params": list(self.cross.head.parameters()), "lr": config.head_learning_rate},
        ])  # fmt: skip
        self.has_validation = bool(validation)

    def epoch_items(self, rng: random.Random) -> list[tuple[str, str, list[str]]]:
        """(question, gold, negatives) per group, shuffled; gold and negatives drawn anew."""
        order = list(range(len(self.groups)))
        rng.shuffle(order)
        negatives = self.config.negatives
        return [
            (self.groups[i][0].text, rng.choice(self.groups[i][1]),
             rng.sample(self.groups[i][2], min(negatives, len(self.groups[i][2]))))
            for i in order
        ]  # fmt: skip

    def loss(self, items: Sequence[tuple[str, str, list[str]]]) -> torch.Tensor:
        """Mean listwise cross-entropy of the groups: the gold passage should win."""
        pairs: list[tuple[str, str]] = []
        sizes = []
        for question, gold, negatives in items:
            pairs += [(question, text) for text in [gold, *negatives]]
            sizes.append(1 + len(negatives))
        logits = forward_sorted(self.cross, self.tokenizer, pairs)
        target = torch.zeros(1, dtype=torch.long)  # the gold passage is first in each group
        return torch.stack([
            torch.nn.functional.cross_entropy(part.unsqueeze(0), target)
            for part in torch.split(logits, sizes)
        ]).mean()  # fmt: skip

    def validate(self) -> dict[str, float]:
        """Recall@10 / hit@1 / MRR@10 of the held-out questions, reranked alone."""
        return validate(self.cross, self.tokenizer, self.validation, self.candidates,
                        self.config.validation_top_k)  # fmt: skip

    def export(self, path: Path) -> None:
        """ONNX, int8 if ``config.quantize`` (see :func:`export_reranker`)."""
        export_reranker(self.cross, path, quantize=self.config.quantize)


def train_reranker(
    folder: Path,
    train: list[TrainingQuestion],
    validation: list[TrainingQuestion],
    candidates: dict[str, list[Candidate]],
    config: RerankConfig,
    *,
    data_hash: str,
    max_minutes: float | None = None,
    base_folder: Path | None = None,
    progress: ProgressFn | None = None,
) -> TrainResult:
    """Train (or resume) in ``folder``; export the best epoch (or the latest) to ONNX there."""
    groups = _groups(train, candidates, config)
    if not groups:
        raise ConfigError(
            "No training question has both a gold and a non-gold passage among its candidates",
            "Check that the question set's 'relevant' ids are citations of this index.",
        )
    schedule = Schedule.of(config, items=len(groups), per_step=config.questions_per_step)
    mined = [[c.passage_id for c in candidates.get(q.id, [])] for q in train + validation]
    return loop.run(
        folder,
        schedule,
        lambda: _RerankerJob(groups, validation, candidates, config, base_folder),
        fingerprint={**config.fingerprint(), "data": data_hash, "candidates": mined},
        mismatch=ConfigError(
            f"{folder / CHECKPOINT} belongs to a run with other data, candidates or settings",
            "Rerun with the same options and retrieval settings to resume it, or pass --force.",
        ),
        baseline=first_stage_metrics(validation, candidates),
        max_minutes=max_minutes,
        progress=progress,
    )


def export_reranker(model: CrossEncoder, path: Path, *, quantize: bool = True) -> None:
    """ONNX (ids, mask, types) -> scores; int8 weights of the linear layers if ``quantize``."""
    model.eval()
    ids = torch.tensor([[101, 2054, 2003, 102, 1037, 3231, 102, 0],
                        [101, 2054, 2003, 102, 1037, 3231, 2003, 102]])  # fmt: skip
    mask = (ids > 0).long()
    types = torch.tensor([[0, 0, 0, 0, 1, 1, 1, 0], [0, 0, 0, 0, 1, 1, 1, 1]])
    axes = {0: "batch", 1: "tokens"}
    fp32 = path.with_suffix(".fp32.tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (ids, mask, types), str(fp32),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["scores"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                          "scores": {0: "batch"}},
            opset_version=17, dynamo=False,
        )  # fmt: skip
    finish_onnx(fp32, path, quantize=quantize)
