"""PubMedQA: does ``press train --kind bi-encoder`` transfer beyond BioASQ? (issue 16, stretch)

Data: the 500 expert-labelled PubMedQA items of ``../shared/data/pubmedqa/pqal_dev.json``
(the dev file only; PubMedQA's test half is never read). The product's converter
(:func:`pipeline.evaluate.convert.convert_pubmedqa`, ``press eval convert pubmedqa
--no-title``) writes one citation per item with its abstract sections and **no title**: a
PubMedQA question *is* its article's title, so with titles retrieval would be a title
lookup. Each question's gold is its own article; the other 499 are the distractors.

Protocol, as on BioASQ: the sha256(id) parity split; training and every choice on half A
(a tenth of it held out to choose the epoch), reported on half B. Three configurations,
each scored by :func:`pipeline.evaluate.retrieval.evaluate_retrieval` (what ``press eval
retrieval`` runs; fused, dense and lexical, latency with the question's embedding):

1. **stock**: the shipped default on the stock index;
2. **PubMedQA-trained**: a bi-encoder trained on half A of PubMedQA with the product's job
   (:func:`pipeline.train.jobs.train_bi_encoder_model`), the index re-embedded in a copy by
   :func:`pipeline.evaluate.indexes.open_rebuilt_index` (``--compare-embeddings``);
3. **BioASQ-trained, zero-shot** (when ``--bioasq-model DIR`` names a finished bi-encoder
   folder, e.g. the one ``bi_encoder_bench.py`` trained): the BioASQ half-A model applied to
   PubMedQA untouched, which shows whether what it learnt is BioASQ's or biomedical.

Writes ``bench/results/pubmedqa-<date><tag>.{json,md}``. Run it under ``nice``. Exit codes:
0 ran, 2 data missing.
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

DEFAULT_CACHE = bb.DEFAULT_CACHE.parent / "pubmedqa-index"
PUBMEDQA = Path("pubmedqa") / "pqal_dev.json"
METRICS = ("recall@k", "hit@1", "mrr@10", "latency_ms_p50", "latency_ms_p95")


def open_home(data: Path, cache: Path) -> tuple[Any, Path, Path]:
    """The stock index of the converted corpus (built once), the set path and the corpus."""
    from pipeline.evaluate.convert import convert_pubmedqa
    from pipeline.index.hybrid import Index
    from pipeline.ingest.run import ingest
    from pipeline.settings.load import load_settings

    converted = convert_pubmedqa(data / PUBMEDQA, cache / "converted", with_title=False)
    home = cache / "home"
    index = Index(load_settings(home=home))
    if index.passage_db.counts()["citations"] == 0:
        start = time.perf_counter()
        report = ingest([converted.corpus], index)
        if report.failed:
            raise RuntimeError(f"ingest failed: {[f.messages for f in report.failed]}")
        log(f"indexed {report.total('citations')} articles in {time.perf_counter() - start:.0f} s")
    log(f"index ready: {index.passage_db.counts()}")
    return index, converted.set, converted.corpus


def scored(report: Any) -> dict[str, dict[str, float]]:
    """The report's fused and dense metrics (and lexical) as plain numbers."""
    data = report.model_dump(mode="json")["methods"]
    return {method: {key: data[method][key] for key in METRICS} for method in data}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=bb.DEFAULT_DATA)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--results", type=Path, default=bb.DEFAULT_RESULTS)
    parser.add_argument("--name", default="pubmedqa-bi-a", help="model name")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--bioasq-model", type=Path, default=None,
                        help="a finished BioASQ bi-encoder folder, scored zero-shot")  # fmt: skip
    parser.add_argument("--tag", default="", help="suffix of the result files")
    args = parser.parse_args(argv)
    if not (args.data / PUBMEDQA).is_file():
        print(f"{args.data / PUBMEDQA} not found", file=sys.stderr)
        return 2
    isolate_settings()
    from pipeline.evaluate.indexes import open_rebuilt_index
    from pipeline.evaluate.retrieval import evaluate_retrieval
    from pipeline.evaluate.sets import load_set
    from pipeline.train.bi_encoder import BiEncoderConfig
    from pipeline.train.data import half_of, questions_from_set, validation_split
    from pipeline.train.jobs import train_bi_encoder_model
    from pipeline.train.manifest import MANIFEST, model_dir, read_manifest

    started = time.perf_counter()
    index, set_path, corpus = open_home(args.data, args.cache)
    models = index.settings.models_dir
    folder = model_dir(models, args.name)
    if not (folder / MANIFEST).is_file():

        def on_step(done: int, total: int, note: str) -> None:
            if done % 5 == 0 or done == total:
                log(f"  step {done}/{total} {note}")

        train_bi_encoder_model(
            index, questions_from_set(set_path), name=args.name, source=str(set_path),
            half="A", config=BiEncoderConfig(epochs=args.epochs), progress=on_step,
        )  # fmt: skip
    manifest = read_manifest(folder)
    log(f"model {args.name}: {manifest.metrics['validation_before']} -> "
        f"{manifest.metrics['validation_best']} (epoch {manifest.best_epoch}, "
        f"{manifest.minutes} min)")  # fmt: skip

    questions = load_set(set_path)
    training = [q for q in questions_from_set(set_path) if half_of(q.id) == "A"]
    held = {q.id for q in validation_split(training, manifest.seed)[1]}
    groups = {
        "A": [q for q in questions if q.id in held],
        "B": [q for q in questions if half_of(q.id) == "B"],
    }
    names = {"stock": None, "pubmedqa": args.name}
    if args.bioasq_model is not None:
        target = model_dir(models, "bioasq-zero-shot")
        if not (target / MANIFEST).is_file():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(args.bioasq_model, target)
        names["bioasq"] = "bioasq-zero-shot"
    rows: dict[str, Any] = {}
    for label, model in names.items():
        rebuild: dict[str, Any] = {}
        if model is None:
            target_index, settings = index, index.settings
        else:
            start = time.perf_counter()
            built = open_rebuilt_index(index, model)
            rebuild = {"seconds": round(time.perf_counter() - start, 1), "reused": built.reused}
            target_index, settings = built.index, built.settings
        rows[label] = {
            "model": model,
            "rebuild": rebuild,
            **{half: scored(evaluate_retrieval(qs, target_index, settings, set_name=half))
               for half, qs in groups.items()},
        }  # fmt: skip
        log(f"{label}: B fused {rows[label]['B']['fused']}")
    results = {
        "date": datetime.now(UTC).date().isoformat(),
        "corpus": str(corpus),
        "passages": index.passage_db.counts()["passages"],
        "questions": {half: len(qs) for half, qs in groups.items()},
        "model": {**json.loads(manifest.model_dump_json()),
                  "onnx_mb": round((folder / "model.onnx").stat().st_size / 1e6, 1)},
        "rows": rows,
        "machine": machine_info(KEY_PACKAGES),
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "seconds": round(time.perf_counter() - started, 1),
    }  # fmt: skip
    report = render(results)
    write_results(args.results, f"pubmedqa-{results['date']}{args.tag}", results, report)
    return 0


def render(results: dict[str, Any]) -> str:
    """The Markdown report of one run."""
    model = results["model"]
    before, best = (model["metrics"][key]["recall@10"]
                    for key in ("validation_before", "validation_best"))  # fmt: skip
    labels = {
        "stock": "stock MiniLM (the default)",
        "pubmedqa": "bi-encoder trained on PubMedQA half A",
        "bioasq": "bi-encoder trained on BioASQ half A (zero-shot here)",
    }
    lines = [
        f"# Trained bi-encoder on PubMedQA — {results['date']}",
        "",
        f"{results['passages']} passages of 500 PubMedQA abstracts without titles; half A "
        f"held-out questions: {results['questions']['A']}, half B: {results['questions']['B']}. "
        f"Model `{model['name']}`: {model['n_train']} training questions, "
        f"{model['epochs_run']} epochs in {model['minutes']} min, best epoch "
        f"{model['best_epoch']} (validation recall@10 {before} -> {best}), ONNX "
        f"{model['onnx_mb']} MB."
        + (" Epoch 0 is the base weights: no epoch beat them on the held-out questions, so "
           "the model differs from the stock file only by its export (int8 per channel, "
           "128-piece passage window)." if model["best_epoch"] == 0 else ""),
        "",
        "| configuration | method | R@10 A | R@10 B | hit@1 B | MRR B | p50 / p95 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, row in results["rows"].items():
        for method in ("fused", "dense"):
            a, b = row["A"][method], row["B"][method]
            lines.append(
                f"| {labels[label]} | {method} | {a['recall@k']:.3f} | {b['recall@k']:.3f} "
                f"| {b['hit@1']:.3f} | {b['mrr@10']:.3f} "
                f"| {b['latency_ms_p50']:.1f} / {b['latency_ms_p95']:.1f} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
