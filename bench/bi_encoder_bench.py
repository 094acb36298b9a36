"""BioASQ: does a bi-encoder trained by ``press train --kind bi-encoder`` on half A lift half B?

Protocol (issue 16, as ``train_bench.py``): train and choose on half A of
``../shared/data/bioasq/dev_set.jsonl`` (the sha256(id) parity split), report on half B,
never touch other BioASQ questions. Inside half A a tenth is held out of training
(:func:`pipeline.train.data.validation_split`): it chooses the epoch (against a corpus
sample, see :mod:`pipeline.train.bi_encoder`) and here also the fusion weight of the
trained dense side. The "A" columns below are those held-out questions only.

Steps, each the product's own code:

1. open (or build) the benchmark's cached stock index with e5-small
   (``bioasq_bench.open_index``);
2. train (or resume, or reuse) bi-encoder ``--name`` on half A in that home
   (:func:`pipeline.train.jobs.train_bi_encoder_model`, bounded by ``--max-minutes``);
3. copy the home once per trained model (``<cache>/<digest>-bi-<name>-<model id>``) and
   re-embed it with ``embeddings.model = NAME`` through :meth:`Index.rebuild` (what
   ``press index rebuild`` runs), timed; the e5-small collection is kept as it is;
4. rows interleaved per question (``bioasq_bench.run_rows``; latency includes embedding
   the question): stock default and stock + e5-small on the stock index; dense only,
   default fusion and + e5-small at ``dense_weight`` 1.0 / 1.5 / 2.0 on the rebuilt one.
   The weight with the best held-out-A recall@10 is the chosen row.

``--holdout 0 --weight W`` trains the final model on all of half A (``press train
--holdout 0``), with the epoch count and the e5 weight ``W`` that a held-out run chose; its
"A" columns are then in-sample and only "B" measures it.

Writes ``bench/results/bi-encoder-<date><tag>.{json,md}``. Run it under ``nice`` on the
shared machine. Exit codes: 0 ran, 2 data missing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bioasq_bench as bb
from common import KEY_PACKAGES, isolate_settings, log, machine_info, write_results

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

WEIGHTS = (1.0, 1.5, 2.0)


def rebuilt_bench(stock: bb.BenchIndex, name: str, model_id: str) -> tuple[bb.BenchIndex, dict]:
    """The stock bench home copied and re-embedded with bi-encoder ``name`` (once per model)."""
    from pipeline.index.hybrid import Index
    from pipeline.settings.load import load_settings

    folder = stock.folder.parent / f"{stock.folder.name.split('-')[0]}-bi-{name}-{model_id}"
    marker = folder / "rebuild.json"
    settings = load_settings(
        home=folder, embeddings={"model": name, "e5_threads": 1},
        retrieval={"second_model": None},
    )  # fmt: skip
    if not marker.is_file():
        shutil.rmtree(folder, ignore_errors=True)
        stock.index.close()
        shutil.copytree(stock.folder, folder)
        index = Index(settings)
        counted = {"n": 0}

        def on_progress(n: int) -> None:
            counted["n"] += n
            if counted["n"] % 2048 < n:
                log(f"  re-embedded {counted['n']}")

        start = time.perf_counter()
        count = index.rebuild(on_progress)
        seconds = time.perf_counter() - start
        index.close()
        marker.write_text(json.dumps({
            "passages": count, "seconds": round(seconds, 1),
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
        }, indent=2))  # fmt: skip
        log(f"rebuilt {count} passages in {seconds:.0f} s")
    with_e5 = settings.model_copy(
        update={"retrieval": settings.retrieval.model_copy(update={"second_model": "e5-small"})}
    )
    index = Index(with_e5)
    return bb.BenchIndex(index, with_e5, folder), json.loads(marker.read_text())


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=bb.DEFAULT_DATA)
    parser.add_argument("--cache", type=Path, default=bb.DEFAULT_CACHE)
    parser.add_argument("--results", type=Path, default=bb.DEFAULT_RESULTS)
    parser.add_argument("--name", default="bioasq-bi-a", help="model name")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--no-quantize", action="store_true", help="export fp32, not int8")
    parser.add_argument("--negatives", type=int, default=3, help="hard negatives per step")
    parser.add_argument("--max-minutes", type=float, default=None)
    parser.add_argument("--holdout", type=float, default=0.1,
                        help="share of half A held out to choose the epoch and weight; 0 "
                        "trains on all of half A (then --weight gives the e5 row's weight)")
    parser.add_argument("--weight", type=float, default=None,
                        help="with --holdout 0: the e5 dense_weight chosen by a held-out run")
    parser.add_argument("--train-only", action="store_true", help="stop after training")
    parser.add_argument("--tag", default="", help="suffix of the result files")
    args = parser.parse_args(argv)

    corpus_path, questions_path = args.data / bb.CORPUS, args.data / bb.QUESTIONS
    if not corpus_path.is_file() or not questions_path.is_file():
        print(f"data not found under {args.data}", file=sys.stderr)
        return 2
    isolate_settings()
    from pipeline.train.bi_encoder import BiEncoderConfig
    from pipeline.train.data import TrainingQuestion, questions_from_set, validation_split
    from pipeline.train.jobs import train_bi_encoder_model
    from pipeline.train.manifest import CHECKPOINT, MANIFEST, model_dir, read_manifest

    started = time.perf_counter()
    stock = bb.open_index(corpus_path, args.cache, second=True, e5_threads=1)
    folder = model_dir(stock.settings.models_dir, args.name)
    if not (folder / MANIFEST).is_file() or (folder / CHECKPOINT).exists():

        def on_step(done: int, total: int, note: str) -> None:
            if done % 5 == 0 or done == total:
                log(f"  step {done}/{total} {note}")

        manifest = train_bi_encoder_model(
            stock.index, questions_from_set(questions_path), name=args.name,
            source=str(questions_path), half="A",
            config=BiEncoderConfig(epochs=args.epochs, threads=args.threads,
                                   quantize=not args.no_quantize, negatives=args.negatives),
            max_minutes=args.max_minutes, holdout=args.holdout, progress=on_step,
        )  # fmt: skip
    else:
        manifest = read_manifest(folder)
    log(f"model {args.name}: {manifest.metrics['validation_before']} -> "
        f"{manifest.metrics['validation_best']} (epoch {manifest.best_epoch}, "
        f"{manifest.minutes} min)")  # fmt: skip
    if args.train_only or not manifest.metrics["finished"]:
        return 0
    if not manifest.n_validation and args.weight not in WEIGHTS:
        print(f"--holdout 0 needs --weight, one of {WEIGHTS}", file=sys.stderr)
        return 2

    questions = bb.load_questions(questions_path, None)
    half_a = [
        TrainingQuestion(q.id, q.text, frozenset(q.gold)) for q in questions if q.half == "A"
    ]
    held = {q.id for q in validation_split(half_a, manifest.seed)[1]}
    chosen_questions = [q for q in questions if q.half == "B" or q.id in held]

    e5 = {"second_model": "e5-small"}
    stock_rows = bb.run_rows(stock, [
        bb.Config("default", "default (stock MiniLM)", "hybrid", {}, "defaults"),
        bb.Config("default_e5", "default + e5-small (stock)", "hybrid", e5, "defaults"),
    ], chosen_questions)  # fmt: skip
    trained, rebuild = rebuilt_bench(stock, args.name, manifest.model_id)
    configs = [
        bb.Config("bi_dense", "bi-encoder, dense only", "dense", {}, "defaults"),
        bb.Config("bi", "bi-encoder, default fusion", "hybrid", {}, "defaults"),
    ] + [
        bb.Config(f"bi_e5_w{w}", f"bi-encoder + e5-small, dense_weight {w}", "hybrid",
                  {**e5, "dense_weight": w}, "defaults")
        for w in WEIGHTS
    ]  # fmt: skip
    log(f"running {len(configs)} rows on {len(chosen_questions)} questions")
    rows = stock_rows + bb.run_rows(trained, configs, chosen_questions)
    weighted = [r for r in rows if r["name"].startswith("bi_e5_w")]
    if manifest.n_validation:
        chosen = max(weighted, key=lambda r: r["metrics"]["A"]["recall"])
    else:  # the "A" questions trained this model: the weight comes from a held-out run
        chosen = next(r for r in weighted if r["name"] == f"bi_e5_w{args.weight}")
    model_mb = round((folder / "model.onnx").stat().st_size / 1e6, 1)
    results = {
        "date": datetime.now(UTC).date().isoformat(),
        "model": {**json.loads(manifest.model_dump_json()), "onnx_mb": model_mb},
        "rebuild": rebuild,
        "chosen_on_held_out_a": chosen["name"],
        "held_out_a_questions": len(held),
        "rows": rows,
        "machine": machine_info(KEY_PACKAGES),
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "seconds": round(time.perf_counter() - started, 1),
    }
    report = render(results, args.name)
    write_results(args.results, f"bi-encoder-{results['date']}{args.tag}", results, report)
    return 0


def render(results: dict[str, Any], name: str) -> str:
    """The Markdown report of one run."""
    model, rebuild = results["model"], results["rebuild"]
    lines = [
        f"# Trained bi-encoder on BioASQ — {results['date']}",
        "",
        f"Model `{name}`: both towers of MiniLM trained on half A ({model['n_train']} "
        f"questions; {model['n_validation']} held out), {model['epochs_run']} epochs in "
        f"{model['minutes']} min, "
        + (f"best epoch {model['best_epoch']} (validation recall@10 on the corpus sample "
           f"{model['metrics']['validation_before']['recall@10']} -> "
           f"{model['metrics']['validation_best']['recall@10']})" if model["n_validation"]
           else f"the last epoch ({model['best_epoch']}) kept")
        + "; ONNX "
        f"{'int8' if model['hyperparameters'].get('quantize', True) else 'fp32'} "
        f"{model['onnx_mb']} MB. "
        f"Re-embedding {rebuild['passages']} passages (`press index rebuild`): "
        f"{rebuild['seconds']} s.",
        "",
        (f"Columns \"A\" are the {results['held_out_a_questions']} held-out half-A questions "
         f"(never trained on; they choose the weight); \"B\" is the reported half. Chosen on "
         f"held-out A: **{results['chosen_on_held_out_a']}**.")
        if model["n_validation"] else
        (f"Trained on all of half A (`--holdout 0`, the epoch count and the weight of "
         f"**{results['chosen_on_held_out_a']}** taken from a held-out run): columns \"A\" "
         f"are in-sample, only \"B\" measures it."),
        "",
        "| row | configuration | R@10 A | R@10 B | hit@1 A | hit@1 B | MRR A | MRR B "
        "| p50 ms | p95 ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["rows"]:
        a, b, lat = row["metrics"]["A"], row["metrics"]["B"], row["latency_ms"]
        mark = "**" if row["name"] == results["chosen_on_held_out_a"] else ""
        lines.append(
            f"| {mark}{row['name']}{mark} | {row['label']} | {a['recall']:.3f} "
            f"| {mark}{b['recall']:.3f}{mark} | {a['hit1']:.3f} | {b['hit1']:.3f} "
            f"| {a['mrr']:.3f} | {b['mrr']:.3f} | {lat['p50']} | {lat['p95']} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
