"""Fine-tune MiniLM as a whole bi-encoder: questions *and* passages through one network (torch).

Design
------
:mod:`pipeline.train.query_encoder` moves only the question side towards the index's
fixed passage vectors, so switching it needs no re-embedding. Training both sides (one
shared network, as MiniLM itself was trained) learns more: on the BioASQ bench, dense-only
recall@10 of half B went 0.760 (stock) -> 0.798 (question side) -> 0.849 (both sides). The
price is a re-embedding of the corpus with the new model (``press index rebuild``), which is
why it is a separate kind, named in its own setting (``embeddings.model``), not
``retrieval.query_model``.

Objective: InfoNCE over each batch. A step takes ``batch_size`` questions, one gold passage
of each (drawn afresh every step) and ``negatives`` hard negatives per question; every
question is scored against all of the step's passages (so the other questions' passages are
in-batch negatives) and must rank its own gold first. Passages of another question's gold
citation that happen to be this question's gold too are masked, not punished. Hard
negatives are mined once, before training, from the index as it stands: the top ``mined``
passages of the base model's question vector that are not gold.

Choosing without peeking: re-embedding 20k passages after every epoch would cost longer
than the epoch, so the held-out tenth of the training questions is measured against a
*sample* of the corpus: every passage of their gold citations plus ``validation_sample``
random ones (seeded). Dense recall@10 there picks the epoch; epoch 0 is the base model.

Export: the same ONNX interface as the shipped MiniLM (hidden state out), int8 by default
like the shipped file (per-channel scales: they keep the fp32 model's recall), so
:class:`pipeline.index.embeddings.MiniLMOnnxEmbeddings` runs it for ingest and queries
without torch. The manifest records the passage token limit.

This module imports torch at the top: import it only from ``press train``
(:func:`pipeline.train.jobs.require_torch` checks first).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pipeline.errors import ConfigError
from pipeline.train import loop
from pipeline.train.data import PassageMatrix, TrainingQuestion
from pipeline.train.loop import Job, ProgressFn, Schedule, TrainResult
from pipeline.train.query_encoder import (
    Encoder,
    batch_tensors,
    dense_metrics,
    encode,
    export_onnx,
    load_base_model,
    load_tokenizer,
)


@dataclass(frozen=True)
class BiEncoderConfig:
    """Hyperparameters of one bi-encoder run (all but the volatile ones in the manifest)."""

    epochs: int = 2
    batch_size: int = 16
    negatives: int = 3
    mined: int = 30
    learning_rate: float = 2e-5
    temperature: float = 0.05
    max_query_tokens: int = 64
    max_passage_tokens: int = 128
    validation_sample: int = 3000
    warmup_steps: int = 10
    quantize: bool = True
    seed: int = 0
    threads: int = 0
    checkpoint_every: int = 10

    def fingerprint(self) -> dict[str, Any]:
        """What must match for a checkpoint to be resumed."""
        values = asdict(self)
        for volatile in ("threads", "checkpoint_every", "quantize", "validation_sample"):
            values.pop(volatile)
        return values


@dataclass(frozen=True)
class Example:
    """One training question: its text, gold passage rows and mined hard-negative rows."""

    text: str
    positives: tuple[int, ...]
    negatives: tuple[int, ...]


def mine_examples(
    questions: list[TrainingQuestion],
    query_vectors: np.ndarray,
    passages: PassageMatrix,
    mined: int,
) -> list[Example]:
    """Questions with gold passages, each with its ``mined`` hardest non-gold passages.

    ``query_vectors[i]`` is question ``i`` as dense retrieval embeds it today (the index's
    own model), so the negatives are what the current retriever confuses with the gold.
    """
    scores = query_vectors @ passages.vectors.T
    depth = min(len(passages.passage_ids), mined * 3)
    examples = []
    for row, question in enumerate(questions):
        positives = passages.positives(question)
        if not positives:
            continue
        top = np.argpartition(-scores[row], depth - 1)[:depth]
        ranked = top[np.argsort(-scores[row][top], kind="stable")]
        negatives = [int(i) for i in ranked if passages.citation_ids[i] not in question.citations]
        examples.append(Example(question.text, tuple(positives), tuple(negatives[:mined])))
    return examples


def in_batch_loss(
    queries: torch.Tensor,
    passages: torch.Tensor,
    gold: torch.Tensor,
    temperature: float,
) -> torch.Tensor:
    """Cross-entropy of question ``i`` against column ``i`` over all of the step's passages.

    ``gold[i, j]`` is true when passage ``j`` is a gold passage of question ``i``; such
    columns other than ``i`` are masked out of the softmax (they are not negatives).
    """
    logits = queries @ passages.T / temperature
    own = torch.eye(len(queries), passages.shape[0], dtype=torch.bool)
    logits = logits.masked_fill(gold & ~own, float("-inf"))
    return torch.nn.functional.cross_entropy(logits, torch.arange(len(queries)))


def corpus_sample(
    validation: list[TrainingQuestion], passages: PassageMatrix, size: int, seed: int
) -> list[int]:
    """Rows of every gold passage of ``validation`` plus ``size`` random rows (seeded)."""
    gold = {row for q in validation for row in passages.positives(q)}
    rng = random.Random(f"sample:{seed}")
    rest = [row for row in range(len(passages.passage_ids)) if row not in gold]
    return sorted(gold | set(rng.sample(rest, min(size, len(rest)))))


class _BiEncoderJob(Job):
    """Both towers of MiniLM as the shared loop drives them (see :func:`train_bi_encoder`)."""

    def __init__(
        self,
        examples: list[Example],
        validation: list[TrainingQuestion],
        passages: PassageMatrix,
        texts: list[str],
        config: BiEncoderConfig,
        base_folder: Path | None,
    ) -> None:
        self.examples, self.validation, self.passages, self.texts, self.config = (
            examples, validation, passages, texts, config
        )  # fmt: skip
        self.model = self.encoder = Encoder(load_base_model(base_folder))
        self.query_tokenizer = load_tokenizer(config.max_query_tokens)
        self.passage_tokenizer = load_tokenizer(config.max_passage_tokens)
        self.optimizer = torch.optim.AdamW(self.encoder.parameters(), lr=config.learning_rate)
        self.has_validation = bool(validation)
        self.sample = corpus_sample(validation, passages, config.validation_sample, config.seed)

    def epoch_items(self, rng: random.Random) -> list[int]:
        """Every example, shuffled."""
        order = list(range(len(self.examples)))
        rng.shuffle(order)
        return order

    def loss(self, items: Sequence[int]) -> torch.Tensor:
        """:func:`in_batch_loss` of one step: a gold and ``negatives`` hard rows per question.

        Which gold and which negatives is drawn from the seed and the step's items alone,
        so a resumed run takes the same steps.
        """
        rng = random.Random(f"{self.config.seed}:{list(items)}")
        batch = [self.examples[i] for i in items]
        rows = [rng.choice(e.positives) for e in batch]
        for example in batch:
            count = min(self.config.negatives, len(example.negatives))
            rows += rng.sample(example.negatives, count)
        cids = [self.passages.citation_ids[row] for row in rows]
        gold_cids = [{self.passages.citation_ids[r] for r in e.positives} for e in batch]
        gold = torch.tensor([[cid in mine for cid in cids] for mine in gold_cids])
        queries = self.encoder(*batch_tensors(self.query_tokenizer, [e.text for e in batch]))
        texts = [self.texts[row] for row in rows]
        encoded = self.encoder(*batch_tensors(self.passage_tokenizer, texts))
        return in_batch_loss(queries, encoded, gold, self.config.temperature)

    def validate(self) -> dict[str, float]:
        """Dense metrics of the held-out questions against the re-embedded corpus sample."""
        if not self.validation:
            return {"recall@10": 0.0, "hit@1": 0.0, "mrr@10": 0.0}
        sample_texts = [self.texts[row] for row in self.sample]
        vectors = encode(self.encoder, self.passage_tokenizer, sample_texts, batch=64)
        matrix = PassageMatrix(
            vectors,
            [self.passages.passage_ids[row] for row in self.sample],
            [self.passages.citation_ids[row] for row in self.sample],
        )
        questions = encode(self.encoder, self.query_tokenizer, [q.text for q in self.validation])
        return dense_metrics(questions, self.validation, matrix)

    def export(self, path: Path) -> None:
        """The shared network as ONNX, int8 (one scale per channel) if ``config.quantize``."""
        export_onnx(self.encoder, path, quantize=self.config.quantize, per_channel=True)


def train_bi_encoder(
    folder: Path,
    train: list[TrainingQuestion],
    validation: list[TrainingQuestion],
    passages: PassageMatrix,
    texts: list[str],
    query_vectors: np.ndarray,
    config: BiEncoderConfig,
    *,
    data_hash: str,
    max_minutes: float | None = None,
    base_folder: Path | None = None,
    progress: ProgressFn | None = None,
) -> TrainResult:
    """Train (or resume) in ``folder``; export the chosen epoch to ONNX there.

    ``texts[row]`` is the indexed text of passage row ``row`` of ``passages``;
    ``query_vectors`` are the ``train`` questions as the index embeds them today (they mine
    the hard negatives, :func:`mine_examples`).
    """
    if len(texts) != len(passages.passage_ids) or len(query_vectors) != len(train):
        raise ValueError("one text per passage row and one vector per question are needed")
    examples = mine_examples(train, query_vectors, passages, config.mined)
    if not examples:
        raise ConfigError(
            "No training question has a gold passage in the index",
            "Check that the question set's 'relevant' ids are citations of this index.",
        )
    schedule = Schedule.of(config, items=len(examples), per_step=config.batch_size)
    return loop.run(
        folder,
        schedule,
        lambda: _BiEncoderJob(examples, validation, passages, texts, config, base_folder),
        fingerprint={
            **config.fingerprint(), "data": data_hash, "n_passages": len(passages.passage_ids)
        },
        max_minutes=max_minutes,
        progress=progress,
    )
