"""``train_bench.py --reranker NAME``: train the reranker on half A, measure, write the table.

Training goes through :func:`pipeline.train.jobs.train_reranker_model` (what ``press train
--kind reranker`` runs) over the candidates of the default retriever + the trained question
encoder ``--name`` (the best first stage so far), bounded by ``--max-minutes``; an
unfinished run is resumed only when ``--max-minutes`` is given again (otherwise its exported
latest-best weights are measured as they are). Measurement is
:func:`rerank_rows.rerank_rows`. Results: ``bench/results/train-rerank-<date>{tag}.json``
and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bioasq_bench as bb
from common import KEY_PACKAGES, log, machine_info, write_results
from rerank_rows import rerank_rows


def run(args: argparse.Namespace, bench: bb.BenchIndex, questions_path: Path) -> int:
    """Train (or resume) ``args.reranker``, then write the reranker table."""
    from pipeline.settings.corpus import RetrievalSettings
    from pipeline.train.data import questions_from_set
    from pipeline.train.jobs import train_reranker_model
    from pipeline.train.manifest import model_dir, read_manifest
    from pipeline.train.reranker import RerankConfig
    folder = model_dir(bench.settings.models_dir, args.reranker)
    unfinished = (folder / "checkpoint.pt").exists() and args.max_minutes is not None
    if not (folder / "manifest.json").is_file() or unfinished:

        def on_step(done: int, total: int, note: str) -> None:
            if done % 10 == 0 or done == total:
                log(f"  step {done}/{total} {note}")

        config = RerankConfig(
            epochs=args.rerank_epochs, negatives=args.rerank_negatives, seed=args.seed,
            threads=args.threads,
        )  # fmt: skip
        train_reranker_model(
            bench.index, questions_from_set(questions_path), name=args.reranker,
            source=str(questions_path), retrieval=RetrievalSettings(query_model=args.name),
            half="A", config=config, max_minutes=args.max_minutes, force=args.force,
            progress=on_step,
        )  # fmt: skip
    manifest = read_manifest(folder)
    got = manifest.metrics
    log(f"reranker {args.reranker}: {got.get('validation_before')} -> "
        f"{got.get('validation_best')} (epoch {manifest.best_epoch}, "
        f"{manifest.minutes} min, finished {got.get('finished')})")  # fmt: skip
    if args.train_only:
        return 0
    questions = bb.load_questions(questions_path, args.limit or None)
    measured = rerank_rows(
        bench, questions, reranker=args.reranker, query_model=args.name,
        latency_questions=args.latency_questions, cache=bench.folder, depth=args.rerank_depth,
        with_default=not args.rerank_trained_only, second=args.second,
    )  # fmt: skip
    encoder = read_manifest(model_dir(bench.settings.models_dir, args.name))
    sizes = {
        name: round((model_dir(bench.settings.models_dir, name) / "model.onnx").stat().st_size
                    / 1e6, 1)
        for name in (args.name, args.reranker)
    }  # fmt: skip
    results: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(),
        "reranker": json.loads(manifest.model_dump_json()),
        "question_encoder": {"name": args.name, "minutes": encoder.minutes},
        "onnx_mb": sizes,
        **measured,
        "machine": machine_info(KEY_PACKAGES),
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
    }
    report = markdown(results, args)
    write_results(args.results, f"train-rerank-{results['date']}{args.tag}", results, report)
    return 0


def markdown(results: dict[str, Any], args: argparse.Namespace) -> str:
    """The configuration table (offline metrics, all questions) and the latency table."""
    rr, sizes = results["reranker"], results["onnx_mb"]
    trained_minutes = results["question_encoder"]["minutes"]
    lines = [
        f"# Cross-encoder reranker on BioASQ — {results['date']}",
        "",
        f"Reranker `{rr['name']}`: trained on half A ({rr['n_train']} questions, "
        f"{rr['n_validation']} held out), {rr['epochs_run']} epochs in {rr['minutes']} min, best "
        f"epoch {rr['best_epoch']}; ONNX int8 {sizes[args.reranker]} MB. Question encoder "
        f"`{args.name}` ({sizes[args.name]} MB, {trained_minutes} min). top_k and λ chosen "
        f"on the {results['n_held_out_a']} held-out half-A questions ('A-held'; the rest of "
        "A trained both models and is not scored).",
        "",
        "| configuration | top_k | λ | R@10 A-held | R@10 B | hit@1 A-held | hit@1 B "
        "| MRR A-held | MRR B | training min |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["rows"]:
        a, b = row["metrics"]["A"], row["metrics"]["B"]
        spent = (trained_minutes if row["stage"].startswith("trained") else 0.0) + (
            rr["minutes"] if row["top_k"] else 0.0
        )
        weight = "—" if row["weight"] is None else f"{row['weight']:g}"
        lines.append(
            f"| {row['name']} | {row['top_k'] or '—'} | {weight} | {a['recall']:.3f} "
            f"| {b['recall']:.3f} | {a['hit1']:.3f} | {b['hit1']:.3f} "
            f"| {a['mrr']:.3f} | {b['mrr']:.3f} | {spent:.1f} |"
        )
    lines += ["", f"Latency through the real retriever ({args.latency_questions} half-B "
              "questions, rows interleaved):", "",
              "| row | R@10 B (subset) | hit@1 B | p50 ms | p95 ms | rerank p50 ms |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for row in results["latency"]:
        b, lat = row["metrics"]["B"], row["latency_ms"]
        part = lat["parts_p50"].get("rerank_ms", "—")
        lines.append(f"| {row['name']} | {b['recall']:.3f} | {b['hit1']:.3f} | {lat['p50']} "
                     f"| {lat['p95']} | {part} |")  # fmt: skip
    return "\n".join(lines) + "\n"
