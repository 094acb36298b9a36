"""BioASQ: does a question encoder trained by ``press train`` on half A lift half B?

Protocol (issue 16): train and choose on half A of ``../shared/data/bioasq/dev_set.jsonl``
(the sha256(id) parity split of ``bioasq_bench.py``), report on half B, never touch other
BioASQ questions. Inside half A a tenth is held out to choose the epoch
(:func:`pipeline.train.data.validation_split`); fusion weights for the trained side are
chosen on half A only (``--sweep``). Half-B *snippets* are in the corpus (they are every
question's distractors) and so among the softmax negatives; half-B *questions* are never
trained on. The overlap of gold snippets between the halves is reported (BioASQ repeats
topics across years, so some half-B gold snippets are also half-A gold).

Steps: open (or build) the benchmark's cached index (``bioasq_bench.open_index``, MiniLM
only); train ``--name`` under that index's home (``<cache>/.../models/``) with
``press train``'s own function, bounded by ``--max-minutes`` and resumed by rerunning;
then run the rows interleaved per question (``bioasq_bench.run_rows``: latency includes
embedding the question): dense-only and fused default, each with the stock and the trained
question encoder. ``--second`` adds e5-small's vectors to the cached index (once) and the
rows "default + e5-small" and "default + trained + e5-small" (the ``best`` preset's second model
beside the trained MiniLM question side). Writes ``bench/results/train-<date>.json`` and ``.md``.

With ``--reranker NAME`` it then trains (or resumes) the cross-encoder reranker ``NAME`` on
half A over the trained encoder's candidates and measures it instead
(``rerank_main.py``, ``rerank_rows.py``): ``bench/results/train-rerank-<date>.{json,md}``.

Run it under ``nice -n 19`` on the shared machine. Exit codes: 0 ran, 2 data missing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bioasq_bench as bb
from common import KEY_PACKAGES, isolate_settings, log, machine_info, write_results

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def gold_overlap(questions: list[bb.Question]) -> dict[str, Any]:
    """How many half-B gold snippets are also gold of some half-A question."""
    gold_a = set().union(*(q.gold for q in questions if q.half == "A"))
    b = [q for q in questions if q.half == "B"]
    shared = [len(q.gold & gold_a) / len(q.gold) for q in b]
    return {
        "half_b_questions_with_any_half_a_gold": sum(1 for s in shared if s > 0),
        "half_b_questions": len(b),
        "mean_share_of_half_b_gold_also_half_a_gold": round(sum(shared) / max(1, len(b)), 4),
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=bb.DEFAULT_DATA)
    parser.add_argument("--cache", type=Path, default=bb.DEFAULT_CACHE)
    parser.add_argument("--results", type=Path, default=bb.DEFAULT_RESULTS)
    parser.add_argument("--name", default="bioasq-half-a", help="model name")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--temperature", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--max-minutes", type=float, default=None)
    parser.add_argument("--force", action="store_true", help="retrain from scratch")
    parser.add_argument("--train-only", action="store_true", help="stop after training")
    parser.add_argument("--sweep", action="store_true", help="choose dense_weight on half A")
    parser.add_argument("--limit", type=int, default=0, help="questions per half (0 = all)")
    parser.add_argument("--tag", default="", help="suffix of the result files")
    parser.add_argument("--reranker", default="", help="also train/measure this reranker")
    parser.add_argument("--rerank-epochs", type=int, default=3)
    parser.add_argument("--rerank-negatives", type=int, default=3)
    parser.add_argument("--latency-questions", type=int, default=100)
    parser.add_argument("--rerank-depth", type=int, default=30, help="candidates scored")
    parser.add_argument("--rerank-trained-only", action="store_true",
                        help="rerank only the trained question encoder's candidates")
    parser.add_argument("--second", action="store_true",
                        help="also measure e5-small as the second dense model (adds its "
                        "vectors to the cached index once, ~40 min here)")  # fmt: skip
    args = parser.parse_args(argv)

    corpus_path, questions_path = args.data / bb.CORPUS, args.data / bb.QUESTIONS
    if not corpus_path.is_file() or not questions_path.is_file():
        print(f"data not found under {args.data}", file=sys.stderr)
        return 2
    isolate_settings()
    from pipeline.train.data import questions_from_set
    from pipeline.train.jobs import train_model
    from pipeline.train.manifest import model_dir, read_manifest
    from pipeline.train.query_encoder import TrainConfig
    started = time.perf_counter()
    bench = bb.open_index(corpus_path, args.cache, second=args.second, e5_threads=1)
    folder = model_dir(bench.settings.models_dir, args.name)
    config = TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
        temperature=args.temperature, seed=args.seed, threads=args.threads,
    )  # fmt: skip
    if (
        args.force
        or not (folder / "manifest.json").is_file()
        or (folder / "checkpoint.pt").exists()
    ):

        def on_step(done: int, total: int, note: str) -> None:
            if done % 5 == 0 or done == total:
                log(f"  step {done}/{total} {note}")

        manifest = train_model(
            bench.index, questions_from_set(questions_path), name=args.name,
            source=str(questions_path), half="A", config=config, max_minutes=args.max_minutes,
            force=args.force, progress=on_step,
        )  # fmt: skip
    else:
        manifest = read_manifest(folder)
    log(f"model {args.name}: {manifest.metrics['validation_before']} -> "
        f"{manifest.metrics['validation_best']} (epoch {manifest.best_epoch}, "
        f"{manifest.minutes} min)")  # fmt: skip
    if args.reranker:
        import rerank_main

        return rerank_main.run(args, bench, questions_path)
    if args.train_only:
        return 0
    questions = bb.load_questions(questions_path, args.limit or None)
    trained = {"query_model": args.name}
    configs = [
        bb.Config("dense_stock", "dense only, stock MiniLM questions", "dense", {}, "defaults"),
        bb.Config("dense_trained", "dense only, trained questions", "dense", trained, "defaults"),
        bb.Config("default", "default (what `press search` runs)", "hybrid", {}, "defaults"),
        bb.Config("trained", "default + trained question encoder", "hybrid", trained, "defaults"),
    ]
    if args.second:
        e5 = {"second_model": "e5-small"}
        both = {**trained, **e5}
        configs += [
            bb.Config("default_e5", "default + e5-small", "hybrid", e5, "defaults"),
            bb.Config("trained_e5", "default + trained + e5-small", "hybrid", both, "defaults"),
        ]
    sweep: list[dict[str, Any]] = []
    if args.sweep:
        half_a = [q for q in questions if q.half == "A"]
        for weight in (1.0, 1.5, 2.0):
            overrides = {**trained, "dense_weight": weight}
            (row,) = bb.run_rows(
                bench, [bb.Config("w", "w", "hybrid", overrides, "defaults")], half_a, timed=False
            )
            sweep.append({"dense_weight": weight, **row["metrics"]["A"]})
            log(f"  sweep dense_weight {weight}: half A {row['metrics']['A']}")
        best = max(sweep, key=lambda p: p["recall"])
        label = f"default + trained, dense_weight {best['dense_weight']} (chosen on half A)"
        configs.append(
            bb.Config(
                "trained_weighted",
                label,
                "hybrid",
                {**trained, "dense_weight": best["dense_weight"]},
                "defaults",
            )
        )
    log(f"running {len(configs)} rows on {len(questions)} questions")
    rows = bb.run_rows(bench, configs, questions)
    model_mb = round((folder / "model.onnx").stat().st_size / 1e6, 1)
    results = {
        "date": datetime.now(UTC).date().isoformat(),
        "model": {**json.loads(manifest.model_dump_json()), "onnx_mb": model_mb},
        "gold_overlap": gold_overlap(questions),
        "sweep_half_a": sweep,
        "rows": rows,
        "machine": machine_info(KEY_PACKAGES),
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "seconds": round(time.perf_counter() - started, 1),
    }
    lines = [
        f"# Trained question encoder on BioASQ — {results['date']}",
        "",
        f"Model `{args.name}`: trained on half A ({manifest.n_train} questions, "
        f"{manifest.n_validation} held out to choose the epoch), {manifest.epochs_run} epochs "
        f"in {manifest.minutes} min, best epoch {manifest.best_epoch}; ONNX {model_mb} MB. "
        f"Gold overlap: {results['gold_overlap']}.",
        "",
        "| row | configuration | R@10 A | R@10 B | hit@1 A | hit@1 B | MRR A | MRR B "
        "| p50 ms | p95 ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        a, b, lat = row["metrics"]["A"], row["metrics"]["B"], row["latency_ms"]
        lines.append(
            f"| {row['name']} | {row['label']} | {a['recall']:.3f} | {b['recall']:.3f} "
            f"| {a['hit1']:.3f} | {b['hit1']:.3f} | {a['mrr']:.3f} | {b['mrr']:.3f} "
            f"| {lat['p50']} | {lat['p95']} |"
        )
    report = "\n".join(lines) + "\n"
    write_results(args.results, f"train-{results['date']}{args.tag}", results, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
