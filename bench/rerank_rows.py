"""Reranker rows of ``train_bench.py``: score once, choose on half A's held-out slice, report B.

A cross-encoder pass per (question, candidate) costs ~10–40 ms on this shared 2-core
machine, so every configuration is *not* rerun through the retriever. Instead:

1. **Candidates.** For each first stage (the default, and the default + trained question
   encoder; with ``--second`` both again with e5-small as the second dense model,
   :func:`first_stages`) every question's top ``depth`` passages with their fused scores
   (:func:`pipeline.train.candidates.mine_candidates` — the same call training mined with).
2. **Scores.** The ONNX reranker (:class:`pipeline.retrieve.rerank.Reranker`, exactly what
   ``retrieval.rerank_model`` runs) scores each (question, candidate) pair once; the scores
   are cached in ``<bench cache>/rerank-scores-<model>.json`` so a rerun costs nothing.
3. **Choice.** ``rerank_top_k`` and ``rerank_weight`` (λ in z(rerank) + λ·z(fused),
   :func:`pipeline.retrieve.rerank.blended_order`) are chosen on the *held-out tenth of half A*
   (:func:`pipeline.train.data.validation_split`, seed 0): the reranker and the trained
   question encoder were both fit on the other nine tenths, so choosing on all of A would
   favour the reranker. The held-out slice and half B are reported for the chosen point
   and for the reranker alone (λ = 0); the other nine tenths of A are not scored (they
   are in-sample for both models, and scoring costs ~40 ms per pair here).
4. **Latency and a cross-check.** The chosen configuration then runs through the real
   retriever (``HybridRetriever`` with ``rerank_model`` set, interleaved with the default
   by ``bioasq_bench.run_rows``) on ``latency_questions`` half-B questions: p50/p95 per query
   and the recall of the same questions, which must match the offline number.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import bioasq_bench as bb
import numpy as np
from common import log

TOP_KS = (10, 20, 30)
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)


def _metrics(questions: list[bb.Question], rankings: list[list[str]]) -> dict[str, Any]:
    pairs = zip(questions, rankings, strict=True)
    per = [bb.question_metrics(r[: bb.TOP], q.gold) for q, r in pairs]
    return bb.by_half(questions, per)


def _order(cands: list[Any], scores: dict[str, float], top_k: int, weight: float) -> list[str]:
    from pipeline.retrieve.rerank import blended_order
    head = cands[:top_k]
    ids = [c.passage_id for c in head]
    order = blended_order(
        ids, np.array([c.score for c in head]), np.array([scores[i] for i in ids]), weight
    )
    cid = {c.passage_id: c.citation_id for c in cands}
    return [cid[p] for p in order] + [c.citation_id for c in cands[top_k:]]


def rerank_rows(
    bench: bb.BenchIndex,
    questions: list[bb.Question],
    *,
    reranker: str,
    query_model: str | None,
    depth: int = 30,
    latency_questions: int = 100,
    with_default: bool = True,
    second: bool = False,
    cache: Path,
) -> dict[str, Any]:
    """Candidates, cached scores, the half-A choice, half-B report and the latency run."""
    from pipeline.retrieve.rerank import load_reranker
    from pipeline.settings.corpus import RetrievalSettings
    from pipeline.train.candidates import mine_candidates
    from pipeline.train.data import TrainingQuestion, validation_split
    everything = [TrainingQuestion(q.id, q.text, frozenset(q.gold)) for q in questions]
    half_a = [t for t in everything if bb.half_of(t.id) == "A"]
    held = {q.id for q in validation_split(half_a, 0)[1]}
    # Half A outside the held-out slice trained both models: in-sample, so not scored at all.
    questions = [q for q in questions if q.half == "B" or q.id in held]
    training = [t for t in everything if t.id in held or bb.half_of(t.id) == "B"]
    stages = first_stages(query_model, second)
    # Which first stages the reranker reorders (every stage is reported as a row).
    reranked = [
        s for s, o in stages.items() if with_default or "query_model" in o or not query_model
    ]
    candidates = {}
    for stage, overrides in stages.items():
        start = time.perf_counter()
        settings = RetrievalSettings(**overrides)
        candidates[stage] = mine_candidates(bench.index, settings, training, depth)
        log(f"  candidates {stage}: {time.perf_counter() - start:.0f} s")
    model = load_reranker(bench.settings.models_dir, reranker)
    path = cache / f"rerank-scores-{reranker}.json"
    stored: dict[str, dict[str, float]] = json.loads(path.read_text()) if path.is_file() else {}
    start, pairs = time.perf_counter(), 0
    for n, q in enumerate(questions, start=1):
        known = stored.setdefault(q.id, {})
        todo = {c.passage_id: c.text for s in reranked for c in candidates[s][q.id]
                if c.passage_id not in known}  # fmt: skip
        if todo:
            for pid, value in zip(todo, model.score(q.text, list(todo.values())), strict=True):
                known[pid] = float(value)
            pairs += len(todo)
        if n % 100 == 0:
            log(f"  scored {n}/{len(questions)} questions ({pairs} new pairs)")
            path.write_text(json.dumps(stored))
    path.write_text(json.dumps(stored))
    seconds = time.perf_counter() - start
    log(f"  scoring: {pairs} pairs in {seconds:.0f} s")
    held_out = [q for q in questions if q.id in held]
    sweep, rows = [], []
    for stage, cands in candidates.items():
        first = [[c.citation_id for c in cands[q.id]] for q in questions]
        rows.append({"name": f"{stage}_first_stage", "stage": stage, "top_k": 0, "weight": None,
                     "metrics": _metrics(questions, first),
                     "held_out_a": _metrics(held_out, [[c.citation_id for c in cands[q.id]]
                                                       for q in held_out])["A"]})  # fmt: skip
        if stage not in reranked:
            continue
        for top_k in [k for k in TOP_KS if k <= depth]:
            for weight in WEIGHTS:
                ranked = [_order(cands[q.id], stored[q.id], top_k, weight) for q in held_out]
                point = _metrics(held_out, ranked)["A"]
                sweep.append({"stage": stage, "top_k": top_k, "weight": weight, **point})
    for stage in reranked:
        cands = candidates[stage]
        points = [p for p in sweep if p["stage"] == stage]
        best = max(points, key=lambda p: (p["recall"], p["mrr"], -p["top_k"]))
        for label, top_k, weight in (("chosen", best["top_k"], best["weight"]),
                                     ("alone", best["top_k"], 0.0)):  # fmt: skip
            order = [_order(cands[q.id], stored[q.id], top_k, weight) for q in questions]
            rows.append({"name": f"{stage}_rerank_{label}", "stage": stage, "top_k": top_k,
                         "weight": weight, "metrics": _metrics(questions, order),
                         "held_out_a": next(p for p in points if p["top_k"] == top_k
                                            and p["weight"] == weight)})  # fmt: skip
    chosen = next(r for r in rows if r["name"] == f"{reranked[-1]}_rerank_chosen")
    latency = latency_rows(bench, questions, chosen, stages[chosen["stage"]], reranker,
                           latency_questions)  # fmt: skip
    scoring = {"pairs": pairs, "seconds": round(seconds, 1)}
    return {"sweep_held_out_a": sweep, "rows": rows, "latency": latency,
            "n_held_out_a": len(held_out), "scoring": scoring}  # fmt: skip


def first_stages(query_model: str | None, second: bool) -> dict[str, dict[str, Any]]:
    """The first stages measured (name → retrieval overrides): default, + trained, + e5."""
    stages: dict[str, dict[str, Any]] = {"default": {}}
    if query_model:
        stages["trained"] = {"query_model": query_model}
    if second:
        stages["default_e5"] = {"second_model": "e5-small"}
        if query_model:
            stages["trained_e5"] = {"query_model": query_model, "second_model": "e5-small"}
    return stages


def latency_rows(
    bench: bb.BenchIndex, questions: list[bb.Question], chosen: dict[str, Any],
    first: dict[str, Any], reranker: str, n: int,
) -> list[dict[str, Any]]:  # fmt: skip
    """The chosen configuration through the real retriever, beside the default, timed."""
    subset = [q for q in questions if q.half == "B"][:n]
    rerank = {**first, "rerank_model": reranker, "rerank_top_k": chosen["top_k"],
              "rerank_weight": chosen["weight"]}  # fmt: skip
    configs = [
        bb.Config("default", "default", "hybrid", {}, "defaults"),
        bb.Config("first_stage", "first stage of the reranker", "hybrid", first, "defaults"),
        bb.Config("reranked", "first stage + reranker (chosen)", "hybrid", rerank, "defaults"),
    ]
    log(f"  latency: {len(configs)} rows on {len(subset)} half-B questions")
    return bb.run_rows(bench, configs, subset)
