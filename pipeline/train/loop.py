"""The one training loop: checkpoint, resume, time cap, best epoch and export (torch).

Design
------
The question encoder (:mod:`pipeline.train.query_encoder`) and the cross-encoder reranker
(:mod:`pipeline.train.reranker`) differ in their model, their data and their loss; how a
run is driven does not, so it is written once, here. A trainer describes itself as a
:class:`Job` (the model and optimizer, one epoch's training items in order, the loss of one
step's items, the held-out metrics, the export) plus a :class:`Schedule`, and :func:`run`
drives it:

* **One run, one fingerprint.** The trainer's settings, its data hash and whatever else
  would make a checkpoint meaningless are hashed into a run id; a checkpoint of another run
  is refused (the caller says with which error and hint) instead of silently mixed in.
* **Bounded and resumable.** A checkpoint (weights, optimizer, position in the epoch, best
  metrics so far, history, minutes used) is written every ``checkpoint_every`` steps, at
  each epoch end and when this run's ``max_minutes`` run out; the same command resumes at the next
  step, with the same shuffled order (each epoch's order comes from ``seed`` and the epoch
  number alone). Learning rates warm up linearly over the first ``warmup_steps`` steps.
* **Choosing without peeking.** After every epoch the held-out questions are measured and
  the best epoch's weights kept (``best.pt``, by recall@10); with no held-out questions the
  last epoch is kept. A trainer with no baseline of its own (the query encoder) counts the
  base model as epoch 0, so training can never make the chosen model worse on that slice.
* **Export last.** When training stops (all epochs done or time up) the kept weights are
  exported (``model.onnx``) beside the shipped tokenizer; the checkpoint and ``best.pt`` are
  deleted only when every epoch is done. The caller writes the manifest after that.

This module imports torch at the top: only the trainers import it, and they are imported
only from :mod:`pipeline.train.jobs` once the extra is known to be installed.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from pipeline import atomic
from pipeline.errors import InputError, PressError
from pipeline.train.manifest import CHECKPOINT, MODEL_FILE, TOKENIZER_FILE

ProgressFn = Callable[[int, int, str], None]
BEST = "best.pt"


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


class Pacing(Protocol):
    """The settings every trainer's config has that pace a run."""

    @property
    def epochs(self) -> int: ...
    @property
    def warmup_steps(self) -> int: ...
    @property
    def checkpoint_every(self) -> int: ...
    @property
    def seed(self) -> int: ...
    @property
    def threads(self) -> int: ...


@dataclass(frozen=True)
class Schedule:
    """How many items make an epoch and a step, and how a run is paced."""

    epochs: int
    items: int
    per_step: int
    warmup_steps: int
    checkpoint_every: int
    seed: int
    threads: int

    @classmethod
    def of(cls, config: Pacing, *, items: int, per_step: int) -> Schedule:
        """The schedule of a trainer's ``config`` over ``items`` training items."""
        return cls(
            epochs=config.epochs, items=items, per_step=per_step,
            warmup_steps=config.warmup_steps, checkpoint_every=config.checkpoint_every,
            seed=config.seed, threads=config.threads,
        )  # fmt: skip

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps in one epoch (the last step may take fewer items)."""
        return max(1, -(-self.items // self.per_step))


class Job(ABC):
    """One trainer's model and data, as :func:`run` drives them.

    A subclass builds its model and ``optimizer`` in ``__init__`` (the loop constructs it
    only after the checkpoint is known to belong to this run) and says whether it has
    held-out questions to choose the epoch on.
    """

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    has_validation: bool

    @abstractmethod
    def epoch_items(self, rng: random.Random) -> Sequence[Any]:
        """One epoch's training items, in training order (``rng`` is seeded per epoch)."""

    @abstractmethod
    def loss(self, items: Sequence[Any]) -> torch.Tensor:
        """The loss of one step's items (the model in training mode)."""

    @abstractmethod
    def validate(self) -> dict[str, float]:
        """Held-out metrics of the current weights (``recall@10`` chooses the epoch)."""

    @abstractmethod
    def export(self, path: Path) -> None:
        """Write the current weights as the ONNX model at ``path``."""


def state_hash(fingerprint: dict[str, Any]) -> str:
    """A short, stable id of a run's fingerprint (what must match for a resume)."""
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()[:16]


def run(
    folder: Path,
    schedule: Schedule,
    make_job: Callable[[], Job],
    *,
    fingerprint: dict[str, Any],
    mismatch: PressError | None = None,
    baseline: dict[str, float] | None = None,
    max_minutes: float | None = None,
    progress: ProgressFn | None = None,
) -> TrainResult:
    """Train (or resume training) ``make_job()`` in ``folder``; export the kept weights there.

    ``mismatch`` is raised when ``folder`` holds the checkpoint of a run with another
    ``fingerprint`` (by default an :class:`InputError` saying to rerun or pass --force).
    ``baseline`` is the "before" metrics; without one the base model is measured and
    counts as epoch 0 (see the module docstring).
    """
    folder.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(schedule.threads or max(1, torch.get_num_threads()))
    torch.manual_seed(schedule.seed)
    run_id = state_hash(fingerprint)
    checkpoint, best_path = folder / CHECKPOINT, folder / BEST
    state: dict[str, Any] = {
        "run_id": run_id, "epoch": 0, "step": 0, "minutes": 0.0, "history": [],
        "best_epoch": 0, "best": None, "before": None,
    }  # fmt: skip
    saved = torch.load(checkpoint, weights_only=False) if checkpoint.is_file() else None
    if saved is not None and saved.get("run_id") != run_id:
        raise mismatch or InputError(
            f"{checkpoint} belongs to a run with other data or settings",
            "Rerun with the same options to resume it, or pass --force to start over.",
        )
    job = make_job()
    base_lrs = [float(group["lr"]) for group in job.optimizer.param_groups]
    if saved is not None:
        job.model.load_state_dict(saved["model"])
        job.optimizer.load_state_dict(saved["optimizer"])
        state = {k: v for k, v in saved.items() if k not in ("model", "optimizer")}
    if state["before"] is None and baseline is not None:
        state["before"] = baseline
    elif state["before"] is None:
        state["before"] = state["best"] = job.validate()
        _save_weights(job, best_path)

    def save() -> None:
        with atomic.replacing(checkpoint) as tmp:
            torch.save({**state, "model": job.model.state_dict(),
                        "optimizer": job.optimizer.state_dict()}, tmp)  # fmt: skip

    started, spent_before = time.monotonic(), float(state["minutes"])

    def minutes() -> float:
        return spent_before + (time.monotonic() - started) / 60

    steps_per_epoch = schedule.steps_per_epoch
    total_steps = steps_per_epoch * schedule.epochs
    out_of_time = False
    while state["epoch"] < schedule.epochs and not out_of_time:
        epoch = int(state["epoch"])
        items = job.epoch_items(random.Random(schedule.seed * 1000 + epoch))
        losses: list[float] = list(state.get("epoch_losses", []))
        job.model.train()
        for step in range(int(state["step"]), steps_per_epoch):
            # The cap bounds this run (``minutes()`` also counts earlier runs of the model),
            # so rerunning the same command resumes instead of stopping at once.
            if max_minutes is not None and time.monotonic() - started >= max_minutes * 60:
                out_of_time = True
                break
            done = epoch * steps_per_epoch + step
            warmup = min(1.0, (done + 1) / schedule.warmup_steps)
            for group, base_lr in zip(job.optimizer.param_groups, base_lrs, strict=True):
                group["lr"] = base_lr * warmup
            loss = job.loss(items[step * schedule.per_step : (step + 1) * schedule.per_step])
            job.optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            job.optimizer.step()
            losses.append(float(loss.detach()))
            state["step"], state["epoch_losses"] = step + 1, losses
            if (step + 1) % schedule.checkpoint_every == 0:
                state["minutes"] = minutes()
                save()
            if progress is not None:
                note = f"epoch {epoch + 1} loss {np.mean(losses[-10:]):.3f}"
                progress(done + 1, total_steps, note)
        if not out_of_time:
            metrics = job.validate()
            state["history"].append(
                {"epoch": epoch + 1, "loss": round(float(np.mean(losses)), 4), **metrics}
            )
            best = state["best"]
            # Without validation questions nothing can be chosen: the last epoch is kept.
            if not job.has_validation or best is None or metrics["recall@10"] > best["recall@10"]:
                state["best"], state["best_epoch"] = metrics, epoch + 1
                _save_weights(job, best_path)
            state["epoch"], state["step"], state["epoch_losses"] = epoch + 1, 0, []
        state["minutes"] = minutes()
        save()
    finished = state["epoch"] >= schedule.epochs
    if best_path.is_file():
        job.model.load_state_dict(torch.load(best_path, weights_only=True))
    job.export(folder / MODEL_FILE)
    shutil.copyfile(
        str(resources.files("pipeline") / "assets/minilm/tokenizer.json"), folder / TOKENIZER_FILE
    )
    if finished:
        checkpoint.unlink(missing_ok=True)
        best_path.unlink(missing_ok=True)
    epochs_run = state["epoch"] + state["step"] / steps_per_epoch
    return TrainResult(finished, round(epochs_run, 3), int(state["best_epoch"]),
                       round(float(state["minutes"]), 2), state["history"], state["before"],
                       state["best"] or {})  # fmt: skip


def _save_weights(job: Job, path: Path) -> None:
    with atomic.replacing(path) as tmp:
        torch.save(job.model.state_dict(), tmp)
