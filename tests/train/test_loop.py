"""The shared training loop (:mod:`pipeline.train.loop`), driven with a tiny linear model.

Both trainers (question encoder, reranker) run this loop, so what it promises is tested
here once, on a job small enough to train in milliseconds: a resumed run ends exactly where
an uninterrupted one does, the minutes cap stops a run cleanly and a rerun goes on from
there, the best epoch (or the base model, as epoch 0) is what gets exported, and a
checkpoint of another run is refused. Needs torch (the ``train`` extra); skips without it.
"""

from __future__ import annotations

import importlib.util
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pipeline.errors import InputError
from pipeline.train.manifest import CHECKPOINT, MODEL_FILE

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None,
    reason="needs the train extra: pip install torch==2.13.0 && pip install -e '.[train]'",
)

ITEMS = 10  # 4 steps of 3, 3, 3 and 1 items per epoch


def schedule(epochs: int = 3) -> Any:
    """A schedule of ``epochs`` over the tiny job's items, a checkpoint after every step."""
    from pipeline.train.loop import Schedule

    return Schedule(epochs=epochs, items=ITEMS, per_step=3, warmup_steps=2, checkpoint_every=1,
                    seed=0, threads=1)  # fmt: skip


def tiny_job(scripted: list[float] | None = None) -> Callable[[], Any]:
    """A linear regression as a :class:`~pipeline.train.loop.Job`.

    Its validation score is the fit on held-out points unless ``scripted`` gives the scores
    of its successive validations (the base model first when there is no baseline).
    """
    import torch

    from pipeline.train.loop import Job

    inputs = torch.linspace(-1, 1, ITEMS + 4).unsqueeze(1).repeat(1, 4)
    targets = inputs.sum(1, keepdim=True) * 0.5 + 0.1

    class Tiny(Job):
        def __init__(self) -> None:
            self.model = torch.nn.Linear(4, 1)
            self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=0.05)
            self.has_validation = True
            self.scores = list(scripted or [])

        def epoch_items(self, rng: random.Random) -> Sequence[int]:
            order = list(range(ITEMS))
            rng.shuffle(order)
            return order

        def loss(self, items: Sequence[int]) -> torch.Tensor:
            rows = torch.tensor(list(items))
            error = self.model(inputs[rows]) - targets[rows]
            return (error**2).mean()

        def validate(self) -> dict[str, float]:
            if self.scores:
                return {"recall@10": self.scores.pop(0)}
            with torch.no_grad():
                error = self.model(inputs[ITEMS:]) - targets[ITEMS:]
            return {"recall@10": round(1 / (1 + float((error**2).mean())), 6)}

        def export(self, path: Path) -> None:
            torch.save(self.model.state_dict(), path)

    return Tiny


def train(folder: Path, epochs: int = 3, make_job: Callable[[], Any] | None = None,
          **options: Any) -> Any:  # fmt: skip
    """One run of the loop in ``folder``."""
    from pipeline.train import loop

    return loop.run(
        folder, schedule(epochs), make_job or tiny_job(), fingerprint={"data": "h"},
        mismatch=InputError("belongs to another run", "pass --force"), **options,
    )  # fmt: skip


def exported(folder: Path) -> dict[str, Any]:
    """The weights the run exported."""
    import torch

    weights: dict[str, Any] = torch.load(folder / MODEL_FILE, weights_only=True)
    return weights


def same_weights(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two state dicts hold identical tensors."""
    import torch

    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("stop_after", [3, 4, 6])  # mid-epoch, an epoch's last step, epoch 2
def test_a_resumed_run_ends_exactly_where_an_uninterrupted_one_does(
    tmp_path: Path, stop_after: int
) -> None:
    whole = train(tmp_path / "whole")

    def interrupt(done: int, total: int, note: str) -> None:
        if done == stop_after:
            raise KeyboardInterrupt  # a kill, after the checkpoint of this step

    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "resumed", progress=interrupt)
    assert (tmp_path / "resumed" / CHECKPOINT).is_file()
    seen: list[int] = []
    resumed = train(tmp_path / "resumed", progress=lambda d, t, n: seen.append(d))
    assert seen[0] == stop_after + 1, "resumed at the next step"
    assert resumed.finished and not (tmp_path / "resumed" / CHECKPOINT).exists()
    assert resumed.history == whole.history and resumed.best_epoch == whole.best_epoch
    assert same_weights(exported(tmp_path / "resumed"), exported(tmp_path / "whole"))


def capped_run(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A run capped at 5 minutes whose step 2 takes ten (a frozen clock otherwise)."""
    from pipeline.train import loop

    clock = [1000.0]
    monkeypatch.setattr(loop, "time", SimpleNamespace(monotonic=lambda: clock[0]))

    def slow_steps(done: int, total: int, note: str) -> None:
        if done == 2:
            clock[0] += 600  # ten minutes pass during step 2

    return train(folder, max_minutes=5, progress=slow_steps)


def test_the_minutes_cap_stops_a_run_and_a_rerun_goes_on_from_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    capped = capped_run(tmp_path / "m", monkeypatch)
    assert not capped.finished and capped.epochs_run == 0.5 and capped.minutes == 10.0
    assert capped.history == []
    assert (tmp_path / "m" / CHECKPOINT).is_file(), "kept to resume from"
    assert (tmp_path / "m" / MODEL_FILE).is_file(), "a capped run still exports its model"
    seen: list[int] = []
    rest = train(tmp_path / "m", progress=lambda d, t, n: seen.append(d))
    assert seen[0] == 3 and rest.finished and rest.minutes == 10.0
    assert same_weights(exported(tmp_path / "m"), exported_by_whole_run(tmp_path))


def test_the_cap_is_per_run_so_the_same_command_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--max-minutes`` bounds one run: rerunning the same command goes on, as the help says."""
    capped = capped_run(tmp_path / "m", monkeypatch)
    assert not capped.finished and capped.minutes == 10.0
    seen: list[int] = []
    rest = train(tmp_path / "m", max_minutes=5, progress=lambda d, t, n: seen.append(d))
    assert seen[:1] == [3], "the rerun with the same cap trained on from step 3"
    assert rest.finished and rest.minutes == 10.0, "minutes still count the whole model"


def exported_by_whole_run(tmp_path: Path) -> dict[str, Any]:
    """The weights of the same run, uninterrupted and uncapped."""
    train(tmp_path / "whole")
    return exported(tmp_path / "whole")


def test_the_best_epoch_is_exported_not_the_last(tmp_path: Path) -> None:
    # Validations: base model 0.5, epoch 1 0.7, epoch 2 0.6.
    result = train(tmp_path / "best", epochs=2, make_job=tiny_job([0.5, 0.7, 0.6]))
    assert result.best_epoch == 1 and result.before == {"recall@10": 0.5}
    assert result.best == {"recall@10": 0.7}
    train(tmp_path / "one", epochs=1)
    assert same_weights(exported(tmp_path / "best"), exported(tmp_path / "one"))
    assert not (tmp_path / "best" / "best.pt").exists()


def test_without_a_baseline_the_base_model_is_epoch_0_and_can_win(tmp_path: Path) -> None:
    import torch

    result = train(tmp_path / "b", epochs=2, make_job=tiny_job([0.9, 0.7, 0.6]))
    assert result.best_epoch == 0 and result.best == {"recall@10": 0.9}
    torch.manual_seed(0)
    assert same_weights(exported(tmp_path / "b"), tiny_job()().model.state_dict())


def test_with_a_baseline_the_base_model_is_not_a_candidate(tmp_path: Path) -> None:
    result = train(tmp_path / "r", epochs=2, make_job=tiny_job([0.7, 0.6]),
                   baseline={"recall@10": 0.9})  # fmt: skip
    assert result.before == {"recall@10": 0.9}
    assert result.best_epoch == 1 and result.best == {"recall@10": 0.7}


def test_a_checkpoint_of_another_run_is_refused(tmp_path: Path) -> None:
    from pipeline.train import loop

    def interrupt(done: int, total: int, note: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "x", progress=interrupt)
    with pytest.raises(InputError, match="another run"):
        loop.run(tmp_path / "x", schedule(), tiny_job(), fingerprint={"data": "changed"},
                 mismatch=InputError("belongs to another run", "pass --force"))  # fmt: skip
