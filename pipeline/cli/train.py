"""``press train``: fine-tune a retrieval model on question -> evidence pairs.

A thin shell over :mod:`pipeline.train.jobs`, one function per ``--kind``:

* ``query-encoder`` (the default, :func:`~pipeline.train.jobs.train_model`): the question
  side of MiniLM against the index's fixed vectors; use it with
  ``PRESS_RETRIEVAL__QUERY_MODEL=NAME``, nothing is re-embedded;
* ``bi-encoder`` (:func:`~pipeline.train.jobs.train_bi_encoder_model`): both sides, gold
  against in-batch and ``--negatives`` mined hard negatives; use it with
  ``PRESS_EMBEDDINGS__MODEL=NAME`` and ``press index rebuild`` (which re-embeds the corpus);
* ``reranker`` (:func:`~pipeline.train.jobs.train_reranker_model`): a cross-encoder trained
  on the configured retriever's own top ``--depth`` candidates, gold against
  ``--negatives`` hard negatives; use it with ``PRESS_RETRIEVAL__RERANK_MODEL=NAME``.
It reads the pairs (a question set in
the evaluation format, and/or the store's approved articles), open the configured index,
train with a progress bar (rich, on stderr, only on a terminal) for at most
``--max-minutes``, and print the manifest. The same command resumes an unfinished run.
The settings can also live in ``press.toml``; ``press eval retrieval --compare-model NAME``
scores a query encoder beside the default. Torch is only needed here (the ``train``
extra); without it the command exits 2 with the install hint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import console, current_settings, handled, open_index, progress_bar
from pipeline.errors import InputError


def train(
    set_path: Annotated[
        Path | None, typer.Option("--set", help="Question set (JSONL) with gold 'relevant' ids.")
    ] = None,
    from_store: Annotated[
        bool, typer.Option("--from-store", help="Also learn from approved/published articles.")
    ] = False,
    name: Annotated[
        str | None,
        typer.Option("--name", help="Model name (folder under <home>/models; default: the kind)."),
    ] = None,
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="query-encoder (question side only; no re-embedding), bi-encoder (both "
            "sides; needs `press index rebuild`) or reranker.",
        ),
    ] = "query-encoder",
    negatives: Annotated[
        int,
        typer.Option(min=1, help="Bi-encoder and reranker: hard negatives per question and step."),
    ] = 3,
    depth: Annotated[
        int, typer.Option(min=2, help="Reranker: candidates mined per question.")
    ] = 30,
    half: Annotated[
        str, typer.Option("--half", help="Train on half A, B (sha256(id) parity) or all.")
    ] = "A",
    holdout: Annotated[
        float,
        typer.Option(
            "--holdout",
            help="Share of the questions held out to choose the epoch. 0 trains on every "
            "question and keeps the last epoch: for the final model, once a held-out run has "
            "shown how many epochs to train.",
        ),
    ] = 0.1,
    epochs: Annotated[
        int | None,
        typer.Option(min=1, help="Passes over the training questions (3; bi-encoder 2)."),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(min=1, help="Questions per step (32; bi-encoder 16; reranker 8)."),
    ] = None,
    learning_rate: Annotated[
        float | None, typer.Option("--lr", help="AdamW learning rate (3e-5; bi-encoder 2e-5).")
    ] = None,
    temperature: Annotated[float, typer.Option(help="Softmax temperature of the loss.")] = 0.05,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    threads: Annotated[int, typer.Option(min=0, help="torch threads (0 = torch's default).")] = 0,
    max_minutes: Annotated[
        float | None, typer.Option(help="Stop after this many minutes (resume by rerunning).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Discard an existing model or checkpoint.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
) -> None:
    """Fine-tune a retrieval model on question -> evidence pairs (needs the train extra)."""
    from pipeline.train.data import pairs_from_store, questions_from_set
    from pipeline.train.jobs import (
        require_torch,
        train_bi_encoder_model,
        train_model,
        train_reranker_model,
    )
    settings = current_settings()
    with handled():
        if half not in ("A", "B", "all"):
            raise InputError(f"--half must be A, B or all, not {half!r}", "Use --half A.")
        if not 0 <= holdout < 1:
            raise InputError(
                f"--holdout must be at least 0 and below 1, not {holdout}",
                "Use --holdout 0.1 (the default) or --holdout 0 to train on every question.",
            )
        if kind not in KINDS:
            raise InputError(f"Unknown --kind {kind!r}", f"Use --kind {', '.join(KINDS)}.")
        if set_path is None and not from_store:
            raise InputError("No training data given", "Pass --set SET.jsonl and/or --from-store.")
        require_torch()
        from pipeline.train.bi_encoder import BiEncoderConfig
        from pipeline.train.query_encoder import TrainConfig
        from pipeline.train.reranker import RerankConfig
        questions = questions_from_set(set_path) if set_path is not None else []
        sources = [str(set_path)] if set_path is not None else []
        if from_store:
            from pipeline.store.db import Store
            store = Store.from_settings(settings)
            try:
                questions += pairs_from_store(store)
            finally:
                store.close()
            sources.append("store")
        name = name or kind
        index = open_index(settings, require_passages=True)
        with progress_bar(quiet=as_json) as progress:
            task = progress.add_task("training", total=None)

            def on_step(done: int, total: int, note: str) -> None:
                progress.update(task, completed=done, total=total, description=note)

            common = {"name": name, "source": " + ".join(sources), "half": half,
                      "max_minutes": max_minutes, "force": force, "holdout": holdout,
                      "progress": on_step}  # fmt: skip
            if kind == "reranker":
                manifest = train_reranker_model(
                    index, questions, retrieval=settings.retrieval,
                    config=RerankConfig(
                        epochs=epochs or 3, questions_per_step=batch_size or 8,
                        negatives=negatives, depth=depth, learning_rate=learning_rate or 3e-5,
                        seed=seed, threads=threads,
                    ),
                    **common,  # type: ignore[arg-type]
                )  # fmt: skip
            elif kind == "bi-encoder":
                manifest = train_bi_encoder_model(
                    index, questions, config=BiEncoderConfig(
                        epochs=epochs or 2, batch_size=max(2, batch_size or 16),
                        negatives=negatives, learning_rate=learning_rate or 2e-5,
                        temperature=temperature, seed=seed, threads=threads,
                    ),
                    **common,  # type: ignore[arg-type]
                )  # fmt: skip
            else:
                manifest = train_model(
                    index, questions, config=TrainConfig(
                        epochs=epochs or 3, batch_size=max(2, batch_size or 32),
                        learning_rate=learning_rate or 3e-5, temperature=temperature, seed=seed,
                        threads=threads,
                    ),
                    **common,  # type: ignore[arg-type]
                )  # fmt: skip
    if as_json:
        console.print_json(manifest.model_dump_json())
        return
    before = manifest.metrics["validation_before"]
    best = manifest.metrics["validation_best"]
    stopped = "stopped at --max-minutes (rerun to resume)"
    state = "finished" if manifest.metrics["finished"] else stopped
    chosen = (
        f"best epoch {manifest.best_epoch}; validation recall@10 {before['recall@10']:.3f} -> "
        f"{best['recall@10']:.3f} ({manifest.n_validation} held-out questions)"
        + ("; no epoch beat the base model, so it is kept unchanged" if not manifest.best_epoch
           else "")
        if manifest.n_validation
        else f"no question held out (--holdout 0): epoch {manifest.best_epoch}, the last, kept"
    )
    console.print(
        f"{manifest.name}: {state}; {manifest.epochs_run} epochs in {manifest.minutes} min, "
        f"{chosen}\n"
        f"model: {settings.models_dir / manifest.name}\n"
        f"use it: {USE[kind]}={manifest.name}"
        + ("  then `press index rebuild` (re-embeds the corpus)" if kind == "bi-encoder" else ""),
        highlight=False,
        markup=False,
    )


KINDS = ("query-encoder", "bi-encoder", "reranker")
USE = {
    "query-encoder": "PRESS_RETRIEVAL__QUERY_MODEL",
    "bi-encoder": "PRESS_EMBEDDINGS__MODEL",
    "reranker": "PRESS_RETRIEVAL__RERANK_MODEL",
}


def register(app: typer.Typer) -> None:
    """Add ``press train`` to ``app``."""
    app.command("train")(train)
