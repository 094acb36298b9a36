"""Retrieval latency, extractive draft time and LLM prompt size for Evidence Press.

What it measures (see ``--help`` for the options):

1. **Retrieval latency** of :meth:`pipeline.retrieve.retriever.HybridRetriever.search` in the three
   modes (hybrid, dense-only, lexical-only), wall clock including the query embedding, over
   ~200 queries: the titles of PubMed records that are *not* in the index, plus ten clinical
   questions. The index holds the first ``--size`` records of the NLM baseline file
   ``pubmed21n1298.xml.gz``, ingested with the real pipeline (:func:`pipeline.ingest.run.ingest`)
   into a folder outside the repository, which later runs reuse. The three modes are run
   interleaved per query (rotating order) so background load hits them alike, over
   ``--rounds`` passes of the query list (pooled); the ratio
   hybrid/dense is computed from the same run. The process CPU time per query (all threads)
   is recorded beside the wall time: it moves far less with other processes' load.
   ``retriever.last_timings`` gives the parts
   (embed, dense, lexical); a short diagnostic pass times the index calls that sit inside
   those parts (corpus-version hash, Chroma count, BM25 scoring, passage fetch).
2. **Extractive draft time** of :func:`pipeline.draft.engine.draft_article` (``use_llm=False``) per
   article, warm, for ten clinical questions on the demo corpus (ingested into a temporary
   home).
3. **Prompt tokens per LLM draft**: the messages :meth:`LLMDrafter.messages` builds for the
   same questions and evidence, counted with :func:`pipeline.tokens.count_tokens`
   (cl100k_base), against ``retrieval.token_budget``.

Results are printed as a table and written to ``bench/results/retrieval-<date>.json`` and
``.md`` together with machine information and the load average (the machine may be shared).
The shared data (``../shared/data``) is read in place; without it the script exits with 2.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from common import (
    git_state,
    isolate_settings,
    loadavg,
    log,
    machine_info,
    machine_line,
    peak_rss_mb,
    percentile,
    summary,
)

if TYPE_CHECKING:
    from pipeline.index.hybrid import Index
    from pipeline.retrieve.retriever import HybridRetriever, Mode
    from pipeline.settings.load import Settings
REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = (REPO.parent / "shared" / "data").resolve()
PUBMED_FILE = Path("pubmed") / "pubmed21n1298.xml.gz"
DEMO_CORPUS = REPO / "corpus" / "demo"
DEFAULT_RESULTS = REPO / "bench" / "results"
DEFAULT_SIZE = 2000
DEFAULT_QUERIES = 200
QUERY_POOL = 400  # records taken from the end of the file as query candidates
MODES: tuple[Mode, ...] = ("hybrid", "dense", "lexical")

TARGET_HYBRID_P95_MS = 30.0
TARGET_DRAFT_S = 1.0

CLINICAL_QUESTIONS = [
    "Is IVIG medically necessary for a patient with seronegative stiff-person syndrome who "
    "improved on IVIG after benzodiazepines and gabapentin?",
    "Is catheter ablation better than antiarrhythmic drugs as first-line treatment for "
    "paroxysmal atrial fibrillation?",
    "Should ACE inhibitors or angiotensin receptor blockers be stopped in patients "
    "hospitalized with COVID-19?",
    "Does bedtime dosing of antihypertensive drugs reduce the morning blood pressure surge?",
    "Does acarbose help postprandial hypotension in patients with glucose metabolism disorders?",
    "Can PET distinguish true glioma progression from treatment-related changes?",
    "Is internet-based cognitive behavioural therapy effective for depression and anxiety?",
    "What are the clinical signs of bacterial meningitis in hospitalised children?",
    "Do digital technology interventions reduce loneliness in older adults?",
    "Does rituximab help patients with autoimmune encephalitis?",
]


class BenchError(Exception):
    """A problem that stops the benchmark, with the exit code to use."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------- helpers


# --------------------------------------------------------------------------- PubMed subset


def iter_records(source: Path) -> Iterator[bytes]:
    """Serialized ``<PubmedArticle>`` elements of a (gzipped) PubMed XML file, in order."""
    from lxml import etree

    with gzip.open(source, "rb") as stream:
        context = etree.iterparse(
            stream,
            events=("end",),
            tag="PubmedArticle",
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=True,
        )
        for _event, elem in context:
            yield etree.tostring(elem)
            elem.clear()
            parent = elem.getparent()
            if parent is not None:
                while elem.getprevious() is not None:
                    del parent[0]


def write_xml(path: Path, records: list[bytes]) -> None:
    """Write ``records`` as a PubMed XML file (atomically)."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as out:
        out.write(b'<?xml version="1.0" encoding="utf-8"?>\n<PubmedArticleSet>\n')
        for record in records:
            out.write(record)
            out.write(b"\n")
        out.write(b"</PubmedArticleSet>\n")
    partial.replace(path)


def prepare_sources(source: Path, folder: Path, size: int) -> tuple[Path, Path]:
    """Write the first ``size`` records (the corpus) and the last :data:`QUERY_POOL` records
    (query candidates, never indexed) of ``source`` into ``folder``; reuse existing files."""
    corpus = folder / f"pubmed-first-{size}.xml"
    queries = folder / f"pubmed-last-{QUERY_POOL}.xml"
    if corpus.is_file() and queries.is_file():
        return corpus, queries
    log(f"reading {source} (first {size} records, last {QUERY_POOL} as query candidates)")
    head: list[bytes] = []
    tail: deque[bytes] = deque(maxlen=QUERY_POOL)
    total = 0
    for record in iter_records(source):
        total += 1
        if total <= size:
            head.append(record)
        else:
            tail.append(record)
    if total < size + QUERY_POOL:
        raise BenchError(
            f"{source} holds {total} records; --size {size} leaves fewer than {QUERY_POOL} "
            f"records for queries (use --size ≤ {total - QUERY_POOL})",
            2,
        )
    folder.mkdir(parents=True, exist_ok=True)
    write_xml(corpus, head)
    write_xml(queries, list(tail))
    return corpus, queries


# --------------------------------------------------------------------------- index


def open_bench_index(
    source: Path, folder: Path, size: int, rebuild: bool
) -> tuple[Settings, Index, dict[str, Any]]:
    """Open (building or reusing) the PubMed benchmark index under ``folder``."""
    from pipeline.index.hybrid import Index
    from pipeline.ingest.run import ingest
    from pipeline.settings.load import load_settings
    if rebuild and folder.exists():
        log(f"--rebuild: removing {folder}")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    corpus, queries = prepare_sources(source, folder, size)
    manifest_path = folder / "bench-manifest.json"
    manifest: dict[str, Any] = {}
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
    settings = load_settings(home=folder, outputs=folder / "outputs")
    index = Index(settings)
    counts = index.passage_db.counts()
    info: dict[str, Any] = {"folder": str(folder), "size": size, "source": str(source)}
    expected = manifest.get("citations")
    reusable = (
        manifest.get("size") == size
        and expected is not None
        and counts["citations"] == expected
        and index.vectors.count() == counts["passages"]
    )
    if reusable:
        info.update(reused=True, build_seconds=manifest.get("build_seconds"))
        log(
            f"index REUSED: {folder} holds {counts['citations']} citations, "
            f"{counts['passages']} passages (same as when it was built)"
        )
    else:
        why = "no previous index" if not counts["citations"] else "counts differ from manifest"
        log(
            f"index BUILT ({why}): ingesting {size} records into {folder} — this embeds "
            "every passage (about 2-4 min per 1,000 records on 2 cores)"
        )
        embedded = 0
        last_report = time.monotonic()

        def on_event(event: str, n: int) -> None:
            nonlocal embedded, last_report
            if event == "embedded":
                embedded += n
                if time.monotonic() - last_report > 30:
                    log(f"  … {embedded} passages embedded")
                    last_report = time.monotonic()

        report = ingest([corpus], index, on_event=on_event)
        if report.failed:
            raise BenchError(f"ingest failed: {[f.messages for f in report.failed]}")
        counts = index.passage_db.counts()
        manifest = {
            "size": size,
            "source": str(source),
            "citations": counts["citations"],
            "passages": counts["passages"],
            "build_seconds": round(report.seconds, 1),
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "skipped_records": sum(len(f.messages) for f in report.files),
        }
        manifest_path.write_text(json.dumps(manifest, indent=2))
        info.update(reused=False, build_seconds=round(report.seconds, 1))
        log(f"  ingest done in {report.seconds:.0f} s: {counts}")
    info.update(
        citations=counts["citations"],
        passages=counts["passages"],
        files=counts["files"],
        queries_file=str(queries),
    )
    return settings, index, info


def query_titles(queries_file: Path, index: Index, wanted: int) -> list[str]:
    """Titles (loaded with the real PubMed loader) of records that are not in the index."""
    from pipeline.ingest.loaders.dispatch import load_file
    result = load_file(queries_file)
    titles: list[str] = []
    seen: set[str] = set()
    for citation in result.citations:
        title = citation.title.strip().rstrip(".").strip()
        if not title or title.lower() in seen:
            continue
        if index.passage_db.citation_owner(citation.id) is not None:
            continue  # the same PMID is already indexed: not an unseen record
        seen.add(title.lower())
        titles.append(title)
        if len(titles) >= wanted:
            break
    return titles


# --------------------------------------------------------------------------- 1. retrieval


def time_retrieval(
    retriever: HybridRetriever, queries: list[str], warmup: int, rounds: int
) -> dict[str, Any]:
    """Wall-clock latency per mode plus the ``last_timings`` parts.

    The modes run interleaved per query in a rotating order, so background load hits them
    alike; the whole query list is timed ``rounds`` times and the samples pooled (the p95
    of each round is kept too, to show how much the machine's load moved it).
    """
    for query in queries[:warmup]:
        for mode in MODES:
            retriever.search(query, mode=mode)
    totals: dict[str, list[float]] = {m: [] for m in MODES}
    cpu: dict[str, list[float]] = {m: [] for m in MODES}
    parts: dict[str, dict[str, list[float]]] = {m: {} for m in MODES}
    per_round: dict[str, list[dict[str, float]]] = {m: [] for m in MODES}
    for r in range(rounds):
        mark = {m: len(totals[m]) for m in MODES}
        for i, query in enumerate(queries):
            shift = (i + r) % 3
            for mode in MODES[shift:] + MODES[:shift]:
                start, cpu_start = time.perf_counter(), time.process_time()
                retriever.search(query, mode=mode)
                elapsed = (time.perf_counter() - start) * 1000
                cpu[mode].append((time.process_time() - cpu_start) * 1000)
                totals[mode].append(elapsed)
                accounted = 0.0
                for name, value in retriever.last_timings.items():
                    parts[mode].setdefault(name, []).append(value)
                    accounted += value
                parts[mode].setdefault("rest_ms", []).append(elapsed - accounted)
        for mode in MODES:
            sample = totals[mode][mark[mode] :]
            per_round[mode].append(
                {
                    "p50": round(percentile(sample, 50), 3),
                    "p95": round(percentile(sample, 95), 3),
                    "loadavg_1min": loadavg()[0],
                }
            )
    return {
        "rounds": rounds,
        "latency_ms": {m: summary(v) for m, v in totals.items()},
        "cpu_ms": {m: summary(v) for m, v in cpu.items()},
        "per_round_ms": per_round,
        "parts_ms": {m: {k: summary(v) for k, v in p.items()} for m, p in parts.items()},
    }


def diagnose(index: Index, retriever: HybridRetriever, queries: list[str]) -> dict[str, Any]:
    """Time the index calls hidden inside one search, to show where the latency goes."""
    lexical = index.lexical()
    n = max(retriever.settings.candidates, retriever.settings.k)

    def timed(fn: Callable[[], object]) -> float:
        start = time.perf_counter()
        fn()
        return (time.perf_counter() - start) * 1000

    rows: dict[str, list[float]] = {
        "store.corpus_version (inside lexical_ms)": [],
        "index.lexical() (version check, inside lexical_ms)": [],
        "bm25 search only (inside lexical_ms)": [],
        "vectors.count (inside dense_ms)": [],
        "chroma query only (inside dense_ms)": [],
        "embed 1 query (embed_ms)": [],
        "store.get 100 ids (rest_ms)": [],
    }
    ids = list(lexical.ids[:100])
    for query in queries:
        vector = index.embed([query])[0]
        rows["passage_db.corpus_version (inside lexical_ms)"].append(
            timed(index.passage_db.corpus_version)
        )
        rows["index.lexical() (version check, inside lexical_ms)"].append(timed(index.lexical))
        rows["bm25 search only (inside lexical_ms)"].append(
            timed(partial(lexical.search, query, n))
        )
        rows["vectors.count (inside dense_ms)"].append(timed(index.vectors.count))
        rows["chroma query only (inside dense_ms)"].append(
            timed(
                partial(
                    index.vectors.collection.query,
                    query_embeddings=vector.reshape(1, -1),
                    n_results=n,
                    include=["distances"],
                )
            )
        )
        rows["embed 1 query (embed_ms)"].append(timed(partial(index.embed, [query])))
        rows["store.get 100 ids (rest_ms)"].append(timed(partial(index.passage_db.get, ids)))
    return {name: summary(values) for name, values in rows.items()}


# --------------------------------------------------------------------------- 2 + 3. drafting


def prompt_tokens(settings: Settings, question: str, evidence: Any) -> dict[str, int]:
    """Token counts of the first LLM drafting call's messages for ``evidence``."""
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from pipeline.draft.chain import LLMDrafter, format_evidence
    from pipeline.tokens import count_tokens
    drafter = LLMDrafter(FakeListChatModel(responses=["x"]), settings.llm)
    messages = drafter.messages(question, evidence, "clinician")
    total = sum(
        count_tokens(m.content if isinstance(m.content, str) else json.dumps(m.content))
        for m in messages
    )
    block = count_tokens(format_evidence(evidence))
    return {
        "prompt_tokens": total,
        "evidence_tokens": int(evidence.token_count),
        "evidence_block_tokens": block,
        "instruction_tokens": total - block,
        "evidence_items": len(evidence.items),
        "messages": len(messages),
    }


def draft_schema_tokens() -> int:
    """Tokens of the forced ``Draft`` tool schema a real LLM call also sends (not in messages)."""
    from langchain_core.utils.function_calling import convert_to_openai_tool

    from pipeline.models.article import Draft
    from pipeline.tokens import count_tokens
    return count_tokens(json.dumps(convert_to_openai_tool(Draft)))


def count_embedding_calls(index: Index) -> list[tuple[list[str], float]]:
    """Record (texts, seconds) of every embedding call made through ``index.embeddings``.

    The embedding object is wrapped in place (an instance attribute shadows
    ``embed_array``), so the drafter, the citation check and the retriever are all seen.
    """
    embeddings = index.embeddings
    original = getattr(embeddings, "embed_array", None)
    calls: list[tuple[list[str], float]] = []
    if original is None:
        return calls

    def embed_array(texts: list[str]) -> Any:
        start = time.perf_counter()
        result = original(texts)
        calls.append((list(texts), time.perf_counter() - start))
        return result

    embeddings.embed_array = embed_array  # type: ignore[attr-defined]
    return calls


def bench_drafting(questions: list[str]) -> dict[str, Any]:
    """Warm extractive draft time and LLM prompt size on the demo corpus (temporary home)."""
    from pipeline.draft.engine import draft_article
    from pipeline.index.hybrid import Index
    from pipeline.ingest.run import ingest
    from pipeline.settings.load import load_settings
    with tempfile.TemporaryDirectory(prefix="press-bench-demo-") as tmp:
        home = Path(tmp)
        settings = load_settings(home=home, outputs=home / "outputs")
        index = Index(settings)
        start = time.perf_counter()
        report = ingest([DEMO_CORPUS], index)
        if report.failed:
            raise BenchError(f"demo ingest failed: {[f.messages for f in report.failed]}")
        ingest_s = time.perf_counter() - start
        counts = index.passage_db.counts()
        log(f"demo corpus ingested in {ingest_s:.1f} s: {counts}")
        draft_article(questions[0], settings=settings, index=index, use_llm=False)  # warm-up
        calls = count_embedding_calls(index)
        runs: list[dict[str, Any]] = []
        for question in questions:
            calls.clear()
            start = time.perf_counter()
            run = draft_article(question, settings=settings, index=index, use_llm=False)
            seconds = time.perf_counter() - start
            texts = [t for batch, _ in calls for t in batch]
            tokens = prompt_tokens(settings, question, run.evidence)
            runs.append(
                {
                    "question": question,
                    "seconds": round(seconds, 4),
                    "stages_s": run.article.provenance.timings_s,
                    "embed_calls": len(calls),
                    "embedded_texts": len(texts),
                    "embedded_distinct": len(set(texts)),
                    "embed_s": round(sum(s for _, s in calls), 4),
                    "sufficient": run.evidence.sufficient,
                    "bullets": sum(len(s.bullets) for s in run.article.draft.sections),
                    **tokens,
                }
            )
        index.close()
    return {
        "demo_ingest_seconds": round(ingest_s, 2),
        "demo_counts": counts,
        "token_budget": settings.retrieval.token_budget,
        "runs": runs,
    }


def pubmed_prompt_tokens(
    settings: Settings, retriever: HybridRetriever, questions: list[str]
) -> list[dict[str, Any]]:
    """Prompt size for the same questions against the PubMed index (bigger passages)."""
    rows = []
    for question in questions:
        evidence = retriever.evidence(question)
        rows.append({"question": question, **prompt_tokens(settings, question, evidence)})
    return rows


# --------------------------------------------------------------------------- report


def part_names(results: dict[str, Any]) -> list[str]:
    """The ``last_timings`` keys seen in any mode (in first-seen order), then ``rest_ms``."""
    names: dict[str, None] = {}
    for parts in results["retrieval"]["parts_ms"].values():
        names.update(dict.fromkeys(k for k in parts if k != "rest_ms"))
    return [*names, "rest_ms"]


def build_table(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The metric / value / target / pass rows."""
    lat = results["retrieval"]["latency_ms"]
    parts = results["retrieval"]["parts_ms"]["hybrid"]
    drafts = results["drafting"]["runs"]
    budget = results["drafting"]["token_budget"]
    secs = [r["seconds"] for r in drafts]
    ev = [r["evidence_tokens"] for r in drafts]
    prompt = [r["prompt_tokens"] for r in drafts]
    block = [r["evidence_block_tokens"] for r in drafts]
    pub = results.get("pubmed_prompts", [])
    rows: list[dict[str, Any]] = []

    def row(metric: str, value: str, target: str = "—", ok: bool | None = None) -> None:
        rows.append(
            {
                "metric": metric,
                "value": value,
                "target": target,
                "pass": "info" if ok is None else ("PASS" if ok else "FAIL"),
            }
        )

    for mode in MODES:
        s = lat[mode]
        ok = s["p95"] <= TARGET_HYBRID_P95_MS if mode == "hybrid" else None
        target = f"p95 ≤ {TARGET_HYBRID_P95_MS:g} ms" if mode == "hybrid" else "—"
        row(f"{mode} latency p50 / p95 (ms)", f"{s['p50']:.1f} / {s['p95']:.1f}", target, ok)
    cpu = results["retrieval"]["cpu_ms"]
    row(
        "CPU time per query p50, hybrid / dense / lexical (ms, all threads)",
        " / ".join(f"{cpu[m]['p50']:.1f}" for m in MODES),
    )
    rounds = results["retrieval"]["per_round_ms"]["hybrid"]
    row(
        "hybrid p95 per round (ms) [1-min load]",
        " / ".join(f"{x['p95']:.1f} [{x['loadavg_1min']:.1f}]" for x in rounds),
    )
    row(
        "hybrid/dense ratio at p50 / p95",
        f"{lat['hybrid']['p50'] / lat['dense']['p50']:.2f} / "
        f"{lat['hybrid']['p95'] / lat['dense']['p95']:.2f}",
    )
    for name in part_names(results):
        if name in parts:
            label = "rest (not in last_timings: store fetch, cap)" if name == "rest_ms" else name
            row(f"hybrid part {label} p50 (ms)", f"{parts[name]['p50']:.1f}")
    row(
        "extractive draft, warm, mean / max (s)",
        f"{np.mean(secs):.3f} / {max(secs):.3f}",
        f"≤ {TARGET_DRAFT_S:g} s each",
        max(secs) <= TARGET_DRAFT_S,
    )
    stages = {
        name: float(np.mean([r["stages_s"].get(name, 0.0) for r in drafts]))
        for name in ("retrieve", "draft", "cite")
    }
    row(
        "draft stages mean: retrieve / draft / cite (s)",
        f"{stages['retrieve']:.3f} / {stages['draft']:.3f} / {stages['cite']:.3f}",
    )
    row(
        "texts embedded per draft, mean (distinct) / embed time share",
        f"{np.mean([r['embedded_texts'] for r in drafts]):.0f} "
        f"({np.mean([r['embedded_distinct'] for r in drafts]):.0f}) / "
        f"{sum(r['embed_s'] for r in drafts) / sum(secs):.0%}",
    )
    row(
        "evidence tokens per draft, mean / max (demo)",
        f"{np.mean(ev):.0f} / {max(ev)}",
        f"≤ budget {budget}",
        max(ev) <= budget,
    )
    row(
        "evidence block as sent (titles+tags), mean / max (demo)",
        f"{np.mean(block):.0f} / {max(block)}",
    )
    row(
        "prompt tokens per LLM draft, mean / max (demo)",
        f"{np.mean(prompt):.0f} / {max(prompt)}",
        f"budget {budget} + instructions",
    )
    if pub:
        pev = [r["evidence_tokens"] for r in pub]
        pblock = [r["evidence_block_tokens"] for r in pub]
        pprompt = [r["prompt_tokens"] for r in pub]
        row(
            "evidence tokens per draft, mean / max (PubMed index)",
            f"{np.mean(pev):.0f} / {max(pev)}",
            f"≤ budget {budget}",
            max(pev) <= budget,
        )
        row(
            "evidence block as sent, mean / max (PubMed index)",
            f"{np.mean(pblock):.0f} / {max(pblock)}",
        )
        row(
            "prompt tokens per LLM draft, mean / max (PubMed index)",
            f"{np.mean(pprompt):.0f} / {max(pprompt)}",
            f"budget {budget} + instructions",
        )
    row("Draft tool schema tokens (sent with every LLM call)", str(results["draft_schema_tokens"]))
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table for the terminal."""
    head = ("metric", "value", "target", "pass")
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) for h in head]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(str(r[h]).ljust(w) for h, w in zip(head, widths, strict=True)))
    return "\n".join(lines)


def to_markdown(results: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """The Markdown report."""
    m = results["machine"]
    idx = results["index"]
    out = [
        f"# Retrieval benchmark — {results['date']}",
        "",
        f"Command: `{results['command']}`  ",
        f"Total run time: {results['total_seconds']:.0f} s; peak RSS "
        f"{results['peak_rss_mb']:.0f} MiB  ",
        f"Git: {results['git']['commit']} (uncommitted changes: {results['git']['dirty']}); "
        f"settings: {results['settings_source']}  ",
        f"Machine: {machine_line(m)}  ",
        f"Load average (1/5/15 min): start {results['loadavg']['start']}, before timing "
        f"{results['loadavg']['before_retrieval']}, end {results['loadavg']['end']}  ",
        f"Index: {idx['citations']} citations / {idx['passages']} passages from the first "
        f"{idx['size']} records of `{Path(idx['source']).name}` "
        f"({'reused' if idx['reused'] else 'built'}; build {idx.get('build_seconds')} s)  ",
        f"Queries: {results['queries']['total']} ({results['queries']['titles']} titles of "
        f"unindexed PubMed records + {results['queries']['clinical']} clinical questions), "
        f"{results['queries']['warmup']} warm-up, modes interleaved, "
        f"{results['retrieval']['rounds']} rounds pooled",
        "",
        "| metric | value | target | pass |",
        "|---|---|---|---|",
    ]
    out += [f"| {r['metric']} | {r['value']} | {r['target']} | {r['pass']} |" for r in rows]
    out += [
        "",
        "## Latency parts p50 (ms), from `last_timings`",
        "",
        "| mode | total | " + " | ".join(n.removesuffix("_ms") for n in part_names(results)) + " |",
        "|---|---|" + "---|" * len(part_names(results)),
    ]
    for mode in MODES:
        p = results["retrieval"]["parts_ms"][mode]
        total = results["retrieval"]["latency_ms"][mode]["p50"]
        cells = [f"{p[k]['p50']:.1f}" if k in p else "—" for k in part_names(results)]
        out.append(f"| {mode} | {total:.1f} | " + " | ".join(cells) + " |")
    out += [
        "",
        "## Diagnostics: index calls inside one search (ms)",
        "",
        "| call | p50 | p95 |",
        "|---|---|---|",
    ]
    for name, s in results["diagnostics_ms"].items():
        out.append(f"| {name} | {s['p50']:.2f} | {s['p95']:.2f} |")
    out += [
        "",
        "## Drafts on the demo corpus",
        "",
        "| question | s | retrieve | draft | cite | texts embedded (distinct) "
        "| evidence tok | prompt tok |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results["drafting"]["runs"]:
        st = r["stages_s"]
        out.append(
            f"| {r['question'][:60]}… | {r['seconds']:.3f} | {st.get('retrieve')} | "
            f"{st.get('draft')} | {st.get('cite')} | {r['embedded_texts']} "
            f"({r['embedded_distinct']}) | {r['evidence_tokens']} | "
            f"{r['prompt_tokens']} |"
        )
    if results.get("notes"):
        out += ["", "## Notes", ""] + [f"- {n}" for n in results["notes"]]
    return "\n".join(out) + "\n"


def notes_for(results: dict[str, Any]) -> list[str]:
    """Automatic observations worth a reader's attention."""
    notes = []
    diag = results["diagnostics_ms"]
    parts = results["retrieval"]["parts_ms"]["hybrid"]
    cv = diag["store.corpus_version (inside lexical_ms)"]["p50"]
    bm = diag["bm25 search only (inside lexical_ms)"]["p50"]
    if "lexical_ms" in parts and cv > bm:
        notes.append(
            f"`Index.lexical()` recomputes `store.corpus_version()` (a SHA-256 over every "
            "passage id, read with ORDER BY) on every search; measured back to back in the "
            f"diagnostic pass it costs {cv:.1f} ms p50 against {bm:.1f} ms for the BM25 "
            f"scoring itself (whole lexical part in the timed run: "
            f"{parts['lexical_ms']['p50']:.1f} ms p50), and `evidence()` computes it once "
            "more. It grows linearly with the corpus "
            f"(≈ {cv / max(results['index']['passages'], 1) * 1000:.2f} ms per 1,000 passages)."
        )
    cnt = diag["vectors.count (inside dense_ms)"]["p50"]
    if cnt > 0.5:
        notes.append(
            f"`VectorIndex.query` calls `collection.count()` before every query ({cnt:.1f} ms p50)."
        )
    drafts = results["drafting"]["runs"]
    texts = sum(r["embedded_texts"] for r in drafts)
    distinct = sum(r["embedded_distinct"] for r in drafts)
    share = sum(r["embed_s"] for r in drafts) / max(sum(r["seconds"] for r in drafts), 1e-9)
    notes.append(
        f"Embedding is {share:.0%} of the extractive draft time: "
        f"{texts / len(drafts):.0f} texts embedded per draft, {distinct / len(drafts):.0f} "
        "distinct (the rest were embedded a second time within the same draft)."
    )
    budget = results["drafting"]["token_budget"]
    for label, runs in (
        ("demo", results["drafting"]["runs"]),
        ("PubMed", results.get("pubmed_prompts", [])),
    ):
        over = [r for r in runs if r["evidence_block_tokens"] > budget]
        if over:
            notes.append(
                f"{label}: {len(over)}/{len(runs)} prompts carry an evidence block larger than "
                f"the {budget}-token budget (the budget counts passage text only, not the "
                "titles and <evidence> headers format_evidence adds)."
            )
    return notes


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description=(
            "Benchmark Evidence Press retrieval latency (hybrid vs dense-only vs "
            "lexical-only), warm extractive draft time and LLM prompt tokens. Prints a "
            "table and writes bench/results/retrieval-<date>.json and .md. The default run "
            "(2,000 PubMed records) takes under ~10 minutes on 2 cores when the index must "
            "be built, about 1-2 minutes when it is reused."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--size",
        type=int,
        default=DEFAULT_SIZE,
        help="Number of PubMed records (from the start of pubmed21n1298.xml.gz) in the "
        "index. 20000 builds the 20k index: embedding it takes 15-60 minutes on 2 cores "
        f"(once; later runs reuse it). At most 20788 - {QUERY_POOL} (the last {QUERY_POOL} "
        "records are kept out of the index as query candidates).",
    )
    parser.add_argument(
        "--queries",
        type=int,
        default=DEFAULT_QUERIES,
        help="Total number of timed queries: PubMed titles of unindexed records plus the "
        f"{len(CLINICAL_QUESTIONS)} clinical questions.",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="Times the whole query list is run in every mode; the latency percentiles pool "
        "all rounds (each round's p95 is reported as well, to show load noise).",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=5,
        help="Queries run in every mode before timing (model load, caches); not counted.",
    )
    parser.add_argument(
        "--index-dir",
        type=Path,
        default=None,
        help="Home folder of the benchmark index (default ~/.cache/evidence-press/"
        "bench-index-<size>). Reused when it holds the same number of citations as when it "
        "was built; must be outside the repository.",
    )
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="Delete the benchmark index folder and build it again.",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="The shared data folder holding pubmed/pubmed21n1298.xml.gz. Exit code 2 "
        "when it is missing.",
    )
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=DEFAULT_RESULTS,
        help="Where retrieval-<date>.json/.md are written (a size other than the default "
        "adds -<size> to the name).",
    )
    parser.add_argument(
        "--no-save", action="store_true", help="Print the table only; write no result files."
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="Exit with 1 when a target fails (default: always 0 after a complete run).",
    )
    parser.add_argument(
        "--keep-env",
        action="store_true",
        help="Use the PRESS_*/OPENAI_* environment variables and ./press.toml (default: "
        "ignore them and measure the default settings, so runs are comparable).",
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    """Run all measurements; returns the exit code."""
    started = time.perf_counter()
    load_start = loadavg()
    dropped = [] if args.keep_env else isolate_settings()
    source = args.data / PUBMED_FILE
    if not source.is_file():
        raise BenchError(
            f"shared data not found: {source} does not exist. The benchmark reads the PubMed "
            "baseline file in place from ../shared/data (see /work/shared/data/README.md); "
            "mount it or pass --data DIR.",
            2,
        )
    if not DEMO_CORPUS.is_dir():
        raise BenchError(f"demo corpus not found at {DEMO_CORPUS}", 2)
    folder = (
        (args.index_dir or Path.home() / ".cache" / "evidence-press" / f"bench-index-{args.size}")
        .expanduser()
        .resolve()
    )
    if folder.is_relative_to(REPO):
        raise BenchError(f"--index-dir {folder} is inside the repository; use a folder outside", 2)
    n_titles = args.queries - len(CLINICAL_QUESTIONS)
    if n_titles < 1:
        raise BenchError(f"--queries must exceed {len(CLINICAL_QUESTIONS)}", 2)

    from pipeline.retrieve.retriever import HybridRetriever
    settings, index, info = open_bench_index(source, folder, args.size, args.rebuild)
    titles = query_titles(Path(info["queries_file"]), index, n_titles)
    queries = titles + CLINICAL_QUESTIONS
    log(
        f"{len(queries)} queries ({len(titles)} unindexed titles + "
        f"{len(CLINICAL_QUESTIONS)} clinical questions)"
    )
    retriever = HybridRetriever(index=index, settings=settings.retrieval)
    load_before = loadavg()
    log(f"timing retrieval (load average {load_before})")
    t0 = time.perf_counter()
    retrieval = time_retrieval(retriever, queries, args.warmup, args.rounds)
    log(f"  retrieval timed in {time.perf_counter() - t0:.0f} s")
    diagnostics = diagnose(index, retriever, queries[:50])
    pubmed_prompts = pubmed_prompt_tokens(settings, retriever, CLINICAL_QUESTIONS)
    index.close()
    log("drafting on the demo corpus")
    drafting = bench_drafting(CLINICAL_QUESTIONS)
    today = datetime.now().date().isoformat()
    results: dict[str, Any] = {
        "date": today,
        "command": " ".join(["bench/retrieval_bench.py", *sys.argv[1:]]),
        "machine": machine_info(),
        "git": git_state(),
        "settings_source": "environment and press.toml"
        if args.keep_env
        else f"defaults (ignored environment variables: {dropped or 'none'})",
        "loadavg": {"start": load_start, "before_retrieval": load_before, "end": loadavg()},
        "index": info,
        "settings": {
            "retrieval": settings.retrieval.model_dump(mode="json"),
            "embeddings": settings.embeddings.model_dump(mode="json"),
            "chunking": settings.chunking.model_dump(mode="json"),
        },
        "queries": {
            "total": len(queries),
            "titles": len(titles),
            "clinical": len(CLINICAL_QUESTIONS),
            "warmup": args.warmup,
            "examples": titles[:5],
        },
        "targets": {"hybrid_p95_ms": TARGET_HYBRID_P95_MS, "draft_s": TARGET_DRAFT_S},
        "retrieval": retrieval,
        "diagnostics_ms": diagnostics,
        "drafting": drafting,
        "pubmed_prompts": pubmed_prompts,
        "draft_schema_tokens": draft_schema_tokens(),
        "peak_rss_mb": peak_rss_mb(),
    }
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    rows = build_table(results)
    results["table"] = rows
    results["notes"] = notes_for(results)
    print(format_table(rows))
    print(
        f"\nindex {'reused' if info['reused'] else 'built'}: {folder} "
        f"({info['citations']} citations, {info['passages']} passages)"
    )
    print(
        f"load average start {load_start}, before timing {load_before}, "
        f"end {results['loadavg']['end']}; total {results['total_seconds']:.0f} s"
    )
    for note in results["notes"]:
        print(f"note: {note}")
    if not args.no_save:
        suffix = "" if args.size == DEFAULT_SIZE else f"-{args.size}"
        args.results_dir.mkdir(parents=True, exist_ok=True)
        base = args.results_dir / f"retrieval-{today}{suffix}"
        Path(f"{base}.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
        Path(f"{base}.md").write_text(to_markdown(results, rows))
        print(f"results: {base}.json, {base}.md")
    failed = any(r["pass"] == "FAIL" for r in rows)
    return 1 if (failed and args.strict) else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse options, run, turn :class:`BenchError` into its exit code."""
    args = parse_args(argv)
    try:
        return run(args)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code


if __name__ == "__main__":
    sys.exit(main())
