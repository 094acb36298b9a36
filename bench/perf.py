"""Evidence Press performance suite, with the LangChain baseline measured in the same run.

Run ``.venv/bin/python bench/perf.py --help`` for the options; ``bench/README.md`` explains
every number. One command measures:

* ingest: records/s and passages/s of ``ingest`` as a ratio to the bare embedder (the same
  passages, the same embedder, no pipeline) and to the LangChain baseline
  (``langchain_chroma.Chroma.from_documents`` with the project's MiniLM ``Embeddings``);
  then a re-ingest of the unchanged corpus (time, passages embedded);
* query latency p50/p95 of ``HybridRetriever.search`` (hybrid and dense-only) and of the
  baseline's ``similarity_search`` at 1k / 20k / 50k passages, interleaved per query;
* retrieval quality (recall@10, MRR@10, hit@1) of ours (hybrid defaults) vs the baseline on
  the demo eval set and on BioASQ half B;
* extractive draft time over the demo eval questions; ``press build`` throughput (from
  ``bench/build_bench.py`` when present); peak memory of every sub-benchmark.

Every sub-benchmark runs in its own subprocess (this file, started with the hidden
``--phase`` option), so its ``ru_maxrss`` is its own peak memory. Results: a table on
stdout, ``bench/results/perf-<date>.json`` (all raw numbers) and ``.md``.

The baseline is fed **the same passages the pipeline indexes** (the pipeline's own chunks,
embedded text = title + newline + passage, one ``Document`` per passage with its citation
id as metadata), so both sides embed exactly the same texts with the same embedder and the
ratios measure the systems, not chunking choices.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common import (
    BENCH,
    PROJECT,
    PhaseError,
    PhaseRunner,
    Stopwatch,
    isolate_settings,
    loadavg,
    log,
    machine_info,
    machine_line,
    phase_child,
    ratio,
    summary,
)

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

DATA = PROJECT.parent / "shared" / "data"
PUBMED_FILES = ("pubmed/pubmed21n1298.xml.gz", "pubmed/pubmed20n0014.xml.gz")
DEMO_CORPUS = PROJECT / "corpus" / "demo"
DEMO_EVAL = PROJECT / "evals" / "sets" / "demo.jsonl"
RESULTS = BENCH / "results"
CACHE = Path.home() / ".cache" / "evidence-press" / "bench"
QUERY_HOLDOUT = 400  # last records of pubmed21n1298: their titles are queries, never indexed
SIZES = {"1k": 1_000, "20k": 20_000, "50k": 50_000}
LARGE = ("20k", "50k")
TOP = 10  # quality metrics are @10 citations
BASELINE_COLLECTION = "langchain"  # langchain_chroma's default collection name

NAMES = (
    "ingest",
    "query-1k",
    "query-20k",
    "query-50k",
    "quality-demo",
    "quality-bioasq",
    "draft",
    "build",
)

PROFILES: dict[str, dict[str, Any]] = {
    # slice: passages in the ingest slice (also the 1k query index)
    "quick": {"slice": 300, "queries": 40, "rounds": 1, "warmup": 3, "bioasq_questions": 100},
    "default": {"slice": 1_000, "queries": 100, "rounds": 2, "warmup": 5, "bioasq_questions": 0},
    "full": {"slice": 1_000, "queries": 200, "rounds": 3, "warmup": 5, "bioasq_questions": 0},
}


# --------------------------------------------------------------------------- shared


def _settings(home: Path) -> Any:
    from pipeline.settings.load import load_settings
    return load_settings(home=home, outputs=home / "outputs")


def _embedder(settings: Any) -> Any:
    """A fresh MiniLM embedder with the settings' threads/window/batch (model not loaded)."""
    from pipeline.index.embeddings import MiniLMOnnxEmbeddings
    cfg = settings.embeddings
    return MiniLMOnnxEmbeddings(
        threads=cfg.threads, max_tokens=cfg.max_tokens, batch_size=cfg.batch_size
    )


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Records of a JSONL file."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def indexed_passages(index: Any) -> Iterator[tuple[str, str, str]]:
    """(passage id, citation id, embedded text) of every passage in an index's store."""
    from pipeline.index.passages import index_text
    for item in index.passage_db.iter_all():
        yield item.passage.id, item.citation.id, index_text(item)


def chunked_passages(paths: Sequence[Path], home: Path) -> list[tuple[str, str, str]]:
    """(passage id, citation id, embedded text) exactly as ``ingest`` would index ``paths``.

    Same loader, chunker and de-duplication as the pipeline (first citation id and first
    passage id win); the text is :func:`pipeline.index.passages.index_text`.
    """
    from pipeline.index.passages import PassageRow, index_text
    from pipeline.ingest.chunking import Chunker
    from pipeline.ingest.loaders.dispatch import load_file
    from pipeline.ingest.run import discover
    chunker = Chunker(_settings(home).chunking)
    seen_citations: set[str] = set()
    out: dict[str, tuple[str, str, str]] = {}
    for path, _explicit in discover(paths):
        for citation in load_file(path).citations:
            if citation.id in seen_citations:
                continue
            seen_citations.add(citation.id)
            for passage in chunker.chunk(citation):
                if passage.id not in out:
                    text = index_text(PassageRow(passage, citation))
                    out[passage.id] = (passage.id, citation.id, text)
    return list(out.values())


def build_baseline_store(
    passages: Sequence[tuple[str, str, str]], embedding: Embeddings, folder: Path
) -> Any:
    """What a LangChain user writes: ``Chroma.from_documents(docs, embedding=...)``."""
    from langchain_chroma import Chroma
    from langchain_core.documents import Document

    docs = [Document(page_content=text, metadata={"citation_id": cid}) for _, cid, text in passages]
    return Chroma.from_documents(
        docs,
        embedding=embedding,
        ids=[pid for pid, _, _ in passages],
        collection_name=BASELINE_COLLECTION,
        persist_directory=str(folder),
    )


def open_baseline_store(folder: Path, embedding: Embeddings) -> Any:
    """Reopen a persisted baseline store."""
    from langchain_chroma import Chroma

    return Chroma(
        collection_name=BASELINE_COLLECTION,
        embedding_function=embedding,
        persist_directory=str(folder),
    )


class StoredVectors:
    """LangChain ``Embeddings`` answering ``embed_documents`` from vectors already computed.

    Used only to *build* the baseline store of a large or cached corpus whose passages our
    index has already embedded with the same model: the vectors are identical to what
    ``from_documents`` would compute, without spending another hour. Queries are embedded
    for real by the wrapped model.
    """

    def __init__(self, vectors: dict[str, list[float]], model: Embeddings) -> None:
        self.vectors = vectors
        self.model = model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """The stored vector of each text."""
        return [self.vectors[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        """A real query embedding."""
        return self.model.embed_query(text)


def baseline_from_index(index: Any, folder: Path, manifest: Path) -> dict[str, Any]:
    """Build (once) the baseline store of an existing index's passages, reusing its vectors."""
    from langchain_core.embeddings import Embeddings

    if manifest.is_file():
        return {"reused": True, **json.loads(manifest.read_text())}
    if folder.exists():
        shutil.rmtree(folder)
    passages = list(indexed_passages(index))
    vectors: dict[str, list[float]] = {}
    ids = [pid for pid, _, _ in passages]
    for start in range(0, len(ids), 5000):
        got = index.vectors.collection.get(ids=ids[start : start + 5000], include=["embeddings"])
        by_id = dict(zip(got["ids"], got["embeddings"], strict=True))
        for pid, _, text in passages[start : start + 5000]:
            vectors[text] = [float(x) for x in by_id[pid]]

    class Lookup(StoredVectors, Embeddings):
        """StoredVectors registered as a LangChain Embeddings."""

    with Stopwatch() as watch:
        build_baseline_store(passages, Lookup(vectors, index.embeddings), folder)
    info = {
        "passages": len(passages),
        "vectors": "reused from the index (same model); store build timed without embedding",
        "seconds_without_embedding": round(watch.seconds, 1),
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    manifest.write_text(json.dumps(info, indent=1))
    return {"reused": False, **info}


def citation_ranking(cids: Sequence[str]) -> list[str]:
    """Citation ids in order of first appearance."""
    return list(dict.fromkeys(cids))


def quality(rankings: Sequence[list[str]], golds: Sequence[set[str]]) -> dict[str, float]:
    """Mean recall@10 (|gold ∩ top10| / min(|gold|, 10)), MRR@10 and hit@1 over questions.

    The recall definition is bioasq_bench's (the one that reproduces its published
    baseline); rankings are citation ids, best first.
    """
    from bioasq_bench import aggregate, question_metrics

    per = [question_metrics(r[:TOP], g) for r, g in zip(rankings, golds, strict=True)]
    return aggregate(per)


def time_interleaved(
    runners: dict[str, Callable[[str], object]], queries: Sequence[str], rounds: int, warmup: int
) -> dict[str, Any]:
    """Wall and CPU ms per call of each runner, interleaved per query in rotating order."""
    for query in queries[:warmup]:
        for run in runners.values():
            run(query)
    names = list(runners)
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    load: list[float] = []
    for r in range(rounds):
        for i, query in enumerate(queries):
            shift = (i + r) % len(names)
            for name in names[shift:] + names[:shift]:
                start, cpu_start = time.perf_counter(), time.process_time()
                runners[name](query)
                wall[name].append((time.perf_counter() - start) * 1000)
                cpu[name].append((time.process_time() - cpu_start) * 1000)
        load.append(loadavg()[0])
    return {
        "rounds": rounds,
        "queries": len(queries),
        "latency_ms": {n: summary(v) for n, v in wall.items()},
        "cpu_ms": {n: summary(v) for n, v in cpu.items()},
        "loadavg_1min_per_round": load,
    }


# --------------------------------------------------------------------------- sources


def prepare_sources(data: Path, folder: Path) -> dict[str, Any]:
    """Write the PubMed corpus files and query titles under ``folder`` (reused when present).

    Order: pubmed21n1298 without its last :data:`QUERY_HOLDOUT` records, then
    pubmed20n0014; citations de-duplicated by id, written as canonical JSONL (the shape of
    ``open_citations.jsonl``, via ``ingest_bench._slice_record``) and chunked by the
    pipeline to count passages. ``p1k.jsonl`` / ``p20k.jsonl`` hold the first citations
    reaching 1k / 20k passages; ``p50k-rest.jsonl`` the following ones up to 50k.
    """
    manifest = folder / "sources.json"
    if manifest.is_file():
        return dict(json.loads(manifest.read_text()))
    from ingest_bench import _slice_record

    from pipeline.ingest.chunking import Chunker
    from pipeline.ingest.loaders.dispatch import load_file
    folder.mkdir(parents=True, exist_ok=True)
    first = load_file(data / PUBMED_FILES[0], "pubmed-xml").citations
    second = load_file(data / PUBMED_FILES[1], "pubmed-xml").citations
    held_out = first[-QUERY_HOLDOUT:]
    ordered = first[:-QUERY_HOLDOUT] + second
    chunker = Chunker(_settings(folder / "scratch-home").chunking)
    seen: set[str] = set()
    records: list[tuple[str, int]] = []  # (json line, passages)
    all_file = folder / "all.partial.jsonl"
    with all_file.open("w", encoding="utf-8") as out:
        for citation in ordered:
            if citation.id in seen:
                continue
            seen.add(citation.id)
            line = json.dumps(_slice_record(citation), ensure_ascii=False)
            out.write(line + "\n")
    # Count passages as ingest will see them: re-load the JSONL and chunk it.
    reloaded = load_file(all_file, "jsonl").citations
    lines = all_file.read_text(encoding="utf-8").splitlines()
    if len(reloaded) != len(lines):  # a record the JSONL loader skipped: keep alignment
        by_id = {c.id: c for c in reloaded}
        keep = []
        for line in lines:
            rec = json.loads(line)
            cid = f"pmid:{rec['pmid']}"
            if cid in by_id:
                keep.append((line, len(chunker.chunk(by_id[cid]))))
        records = keep
    else:
        records = [(line, len(chunker.chunk(c))) for line, c in zip(lines, reloaded, strict=True)]
    all_file.unlink()
    files = {"1k": "p1k.jsonl", "20k": "p20k.jsonl", "50k": "p50k-rest.jsonl"}
    counts: dict[str, dict[str, int]] = {}
    total = 0
    with (
        (folder / files["1k"]).open("w", encoding="utf-8") as f1k,
        (folder / files["20k"]).open("w", encoding="utf-8") as f20k,
        (folder / files["50k"]).open("w", encoding="utf-8") as f50k,
    ):
        for line, n in records:
            if total < SIZES["1k"]:
                f1k.write(line + "\n")
                counts.setdefault("1k", {"citations": 0, "passages": 0})
                counts["1k"]["citations"] += 1
                counts["1k"]["passages"] += n
            if total < SIZES["20k"]:
                f20k.write(line + "\n")
                key = "20k"
            elif total < SIZES["50k"]:
                f50k.write(line + "\n")
                key = "50k"
            else:
                break
            counts.setdefault(key, {"citations": 0, "passages": 0})
            counts[key]["citations"] += 1
            counts[key]["passages"] += n
            total += n
    p1k_lines = [n for _, n in records[: counts["1k"]["citations"]]]
    titles: list[str] = []
    for citation in held_out:
        title = citation.title.strip().rstrip(".").strip()
        if title and citation.id not in seen and title.lower() not in {t.lower() for t in titles}:
            titles.append(title)
    (folder / "queries.json").write_text(json.dumps(titles, indent=0), encoding="utf-8")
    info = {
        "files": {k: str(folder / v) for k, v in files.items()},
        "counts": counts,
        "available_passages": sum(n for _, n in records),
        "p1k_line_passages": p1k_lines,
        "query_titles": str(folder / "queries.json"),
        "sources": [str(data / f) for f in PUBMED_FILES],
        "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    manifest.write_text(json.dumps(info, indent=1))
    return info


def large_index_status(name: str) -> dict[str, Any] | None:
    """The build manifest of a large index when it is complete, else ``None``."""
    manifest = CACHE / f"pubmed-{name}" / "bench-manifest.json"
    if not manifest.is_file():
        return None
    return dict(json.loads(manifest.read_text()))


# --------------------------------------------------------------------------- phases
# Each runs in its own subprocess; params in, JSON-able result out.


def phase_prepare(params: dict[str, Any]) -> dict[str, Any]:
    """Write (or reuse) the PubMed source files."""
    with Stopwatch() as watch:
        info = prepare_sources(Path(params["data"]), Path(params["folder"]))
    return {"timing": watch.as_dict(), **info}


def phase_build_index(params: dict[str, Any]) -> dict[str, Any]:
    """Build a large index: 20k from p20k.jsonl; 50k = a copy of 20k + p50k-rest.jsonl."""
    from pipeline.index.hybrid import Index
    from pipeline.ingest.run import ingest
    name = params["name"]
    home = CACHE / f"pubmed-{name}"
    paths = [Path(params["files"]["20k"])]
    copied_from = None
    if name == "50k":
        base = CACHE / "pubmed-20k"
        if not (base / "bench-manifest.json").is_file():
            raise RuntimeError("build the 20k index first")
        if home.exists():
            shutil.rmtree(home)
        shutil.copytree(base, home)
        (home / "bench-manifest.json").unlink()
        copied_from = str(base)
        paths.append(Path(params["files"]["50k"]))
    settings = _settings(home)
    with Stopwatch() as watch:
        index = Index(settings)
        report = ingest(paths, index)
    if report.failed:
        raise RuntimeError(f"ingest failed: {[f.messages for f in report.failed]}")
    counts = index.passage_db.counts()
    vectors = index.vectors.count()
    index.close()
    manifest = {
        "name": name,
        "home": str(home),
        "files": [str(p) for p in paths],
        "copied_from": copied_from,
        "citations": counts["citations"],
        "passages": counts["passages"],
        "vectors": vectors,
        "embedded_in_this_build": report.embedded,
        "timing": watch.as_dict(),
        "passages_per_s": round(report.embedded / watch.seconds, 2),
        "load_after": loadavg(),
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    (home / "bench-manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def phase_baseline_ingest(params: dict[str, Any]) -> dict[str, Any]:
    """Time ``Chroma.from_documents`` on the slice's exact passages (model load included)."""
    home = Path(params["scratch_home"])
    passages = chunked_passages([Path(params["slice_file"])], home)
    folder = Path(params["folder"])
    with Stopwatch() as watch:
        store = build_baseline_store(passages, _embedder(_settings(home)), folder)
    stored = store._collection.count()
    return {
        "timing": watch.as_dict(),
        "passages": len(passages),
        "stored": stored,
        "passages_per_s": round(len(passages) / watch.seconds, 2),
    }


def phase_query(params: dict[str, Any]) -> dict[str, Any]:
    """Latency of hybrid, dense-only and the baseline's similarity_search, interleaved."""
    from pipeline.index.hybrid import Index
    from pipeline.retrieve.retriever import HybridRetriever
    home = Path(params["home"])
    settings = _settings(home)
    index = Index(settings)
    retriever = HybridRetriever(index=index, settings=settings.retrieval)
    k = settings.retrieval.k
    baseline_info: dict[str, Any] = {"built_in": "ingest phase (real from_documents)"}
    folder = Path(params["baseline_dir"])
    if params.get("baseline_from_index"):
        baseline_info = baseline_from_index(index, folder, folder.with_suffix(".json"))
    store = open_baseline_store(folder, _embedder(settings))
    queries = params["queries"]
    runners: dict[str, Callable[[str], object]] = {
        "hybrid": lambda q: retriever.search(q, mode="hybrid"),
        "dense": lambda q: retriever.search(q, mode="dense"),
        "baseline": lambda q: store.similarity_search(q, k=k),
    }
    timing = time_interleaved(runners, queries, params["rounds"], params["warmup"])
    counts = index.passage_db.counts()
    result = {
        "passages": counts["passages"],
        "citations": counts["citations"],
        "baseline_passages": store._collection.count(),
        "baseline_store": baseline_info,
        "k": k,
        **timing,
    }
    index.close()
    return result


def _quality_run(
    index: Any,
    store: Any,
    settings: Any,
    questions: Sequence[tuple[str, set[str]]],
) -> dict[str, Any]:
    """Ours (hybrid defaults) vs the baseline on labelled questions, interleaved."""
    from pipeline.retrieve.retriever import HybridRetriever
    retriever = HybridRetriever(index=index, settings=settings.retrieval)
    depth = TOP * settings.retrieval.per_citation_cap  # bioasq_bench's depth, both sides
    retriever.search("warm-up query about aspirin", k=depth)
    store.similarity_search("warm-up query about aspirin", k=depth)
    rankings: dict[str, list[list[str]]] = {"ours": [], "baseline": []}
    wall: dict[str, list[float]] = {"ours": [], "baseline": []}
    for i, (text, _gold) in enumerate(questions):
        for side in ("ours", "baseline") if i % 2 == 0 else ("baseline", "ours"):
            start = time.perf_counter()
            if side == "ours":
                cids = [h.citation.id for h in retriever.search(text, k=depth)]
            else:
                docs = store.similarity_search(text, k=depth)
                cids = [d.metadata["citation_id"] for d in docs]
            wall[side].append((time.perf_counter() - start) * 1000)
            rankings[side].append(citation_ranking(cids))
    golds = [gold for _, gold in questions]
    return {
        "questions": len(questions),
        "depth_passages": depth,
        "ours": quality(rankings["ours"], golds),
        "baseline": quality(rankings["baseline"], golds),
        "latency_ms": {side: summary(v) for side, v in wall.items()},
    }


def phase_quality_demo(params: dict[str, Any]) -> dict[str, Any]:
    """Demo corpus: both sides build their index from scratch (timed), then the eval set."""
    from pipeline.index.hybrid import Index
    from pipeline.ingest.run import ingest
    work = Path(params["work"])
    home = work / "demo-home"
    settings = _settings(home)
    with Stopwatch() as ours_watch:
        index = Index(settings)
        report = ingest([DEMO_CORPUS], index)
    passages = list(indexed_passages(index))
    with Stopwatch() as base_watch:
        store = build_baseline_store(passages, _embedder(settings), work / "demo-baseline")
    # Questions without relevant citations (off-topic probes) have no recall to measure.
    questions = [
        (r["question"], set(r["relevant"])) for r in read_jsonl(DEMO_EVAL) if r.get("relevant")
    ]
    result = _quality_run(index, store, settings, questions)
    index.close()
    return {
        "passages": len(passages),
        "embedded": report.embedded,
        "ours_ingest": ours_watch.as_dict(),
        "baseline_ingest": base_watch.as_dict(),
        **result,
    }


def phase_quality_bioasq(params: dict[str, Any]) -> dict[str, Any]:
    """BioASQ half B on bioasq_bench's cached index; baseline store built from its vectors."""
    from bioasq_bench import DEFAULT_CACHE, load_questions, sha256_of, slug

    from pipeline.index.embeddings import MINILM_NAME
    from pipeline.index.hybrid import Index
    corpus = Path(params["data"]) / "bioasq" / "snippets_corpus.jsonl"
    digest = sha256_of(corpus)
    folder = DEFAULT_CACHE / f"{digest[:16]}-{slug(MINILM_NAME)}"
    marker = folder / "bench.json"
    if not marker.is_file() or "ingest_minilm" not in json.loads(marker.read_text()):
        return {"skipped": f"no BioASQ index at {folder}: run bench/bioasq_bench.py once"}
    settings = _settings(folder)
    index = Index(settings)
    base_folder = CACHE / f"bioasq-baseline-{digest[:16]}"
    baseline_info = baseline_from_index(index, base_folder, base_folder.with_suffix(".json"))
    store = open_baseline_store(base_folder, _embedder(settings))
    questions = [
        q
        for q in load_questions(Path(params["data"]) / "bioasq" / "dev_set.jsonl", None)
        if q.half == "B"
    ]
    if params.get("limit"):
        questions = questions[: params["limit"]]
    result = _quality_run(index, store, settings, [(q.text, q.gold) for q in questions])
    counts = index.passage_db.counts()
    index.close()
    return {
        "index": str(folder),
        "passages": counts["passages"],
        "baseline_store": baseline_info,
        "half": "B",
        **result,
    }


def phase_draft(params: dict[str, Any]) -> dict[str, Any]:
    """Extractive draft time over the demo eval questions (retrieval_bench.bench_drafting)."""
    from retrieval_bench import bench_drafting

    questions = [r["question"] for r in read_jsonl(DEMO_EVAL)]
    drafting = bench_drafting(questions)
    seconds = [r["seconds"] for r in drafting["runs"]]
    return {
        "questions": len(questions),
        "seconds": summary(seconds),
        "demo_ingest_seconds": drafting["demo_ingest_seconds"],
        "runs": [
            {k: r[k] for k in ("question", "seconds", "stages_s", "embed_calls", "sufficient")}
            for r in drafting["runs"]
        ],
    }


def phase_build(params: dict[str, Any]) -> dict[str, Any]:
    """``press build`` throughput: bench/build_bench.py (another benchmark), run in-process."""
    import build_bench

    out = Path(params["out"])
    with Stopwatch() as watch:
        code = build_bench.main(["--out", str(out), "--suffix=-perf"])
    found = sorted(out.glob("build-*-perf.json"))
    if code != 0 or not found:
        raise RuntimeError(f"bench/build_bench.py exited with {code} and wrote {found}")
    data = json.loads(found[-1].read_text())
    return {"timing": watch.as_dict(), "command": data.get("command"), **data["results"]}


PHASES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "build": phase_build,
    "prepare": phase_prepare,
    "build-index": phase_build_index,
    "baseline-ingest": phase_baseline_ingest,
    "query": phase_query,
    "quality-demo": phase_quality_demo,
    "quality-bioasq": phase_quality_bioasq,
    "draft": phase_draft,
}


def _ingest_phase(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """ingest_bench's phase functions (bare embedder, pipeline ingest), imported lazily."""

    def run(params: dict[str, Any]) -> dict[str, Any]:
        import ingest_bench

        result: dict[str, Any] = getattr(ingest_bench, name)(params)
        return result

    return run


PHASES["bare"] = _ingest_phase("phase_bare")
PHASES["ingest"] = _ingest_phase("phase_ingest")


# --------------------------------------------------------------------------- parent


def build_large_indexes(runner: PhaseRunner, sources: dict[str, Any], names: Sequence[str]) -> None:
    """Build every large index of ``names`` that has no complete build yet (20k before 50k)."""
    for name in LARGE:
        if name not in names and not (name == "20k" and "50k" in names):
            continue
        if large_index_status(name) is not None:
            continue
        log(f"building the {name} index under {CACHE / f'pubmed-{name}'} (long: embeds passages)")
        runner.run(f"build-{name}", "build-index", {"name": name, "files": sources["files"]})


def write_slice(sources: dict[str, Any], passages: int, folder: Path) -> Path:
    """The first citations of p1k.jsonl reaching ``passages`` passages, as a file in ``folder``."""
    lines = Path(sources["files"]["1k"]).read_text(encoding="utf-8").splitlines()
    keep, total = [], 0
    for line, n in zip(lines, sources["p1k_line_passages"], strict=True):
        if total >= passages:
            break
        keep.append(line)
        total += n
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"pubmed-first-{total}-passages.jsonl"
    path.write_text("\n".join(keep) + "\n", encoding="utf-8")
    return path


def query_list(sources: dict[str, Any], wanted: int) -> list[str]:
    """Titles of held-out PubMed records plus retrieval_bench's ten clinical questions."""
    from retrieval_bench import CLINICAL_QUESTIONS

    titles: list[str] = json.loads(Path(sources["query_titles"]).read_text(encoding="utf-8"))
    return titles[: max(wanted - len(CLINICAL_QUESTIONS), 1)] + CLINICAL_QUESTIONS


def run_suite(args: argparse.Namespace) -> int:
    """Run the selected sub-benchmarks, print the table, write the result files."""
    profile = PROFILES[args.profile]
    names = list(NAMES) if not args.only else [n.strip() for n in args.only.split(",")]
    unknown = sorted(set(names) - set(NAMES))
    if unknown:
        print(f"perf: unknown --only names {unknown}; choose from {', '.join(NAMES)}")
        return 2
    if not (DATA / PUBMED_FILES[0]).is_file():
        print(
            f"perf: the shared data folder {DATA} is absent (needs {PUBMED_FILES[0]}); the "
            "benchmarks read it in place (see ../shared/data/README.md)",
            file=sys.stderr,
        )
        return 2
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    dropped = isolate_settings()
    load_start = loadavg()
    workdir = Path(tempfile.mkdtemp(prefix="press-perf-")).resolve()
    runner = PhaseRunner(Path(__file__).resolve(), workdir)
    print(f"Evidence Press performance suite ({args.profile}); scratch {workdir}")
    print(f"load average at start: {load_start}")
    failures: dict[str, str] = {}
    skipped: dict[str, str] = {}
    extra: dict[str, Any] = {}

    def attempt(label: str, phase: str, params: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return runner.run(label, phase, params)
        except PhaseError as exc:
            failures[label] = str(exc)
            print(f"perf: {exc}", file=sys.stderr)
            return None

    sources = runner.run(
        "prepare", "prepare", {"data": str(DATA), "folder": str(CACHE / "sources")}
    )
    if args.build_indexes:
        build_large_indexes(runner, sources, LARGE)
        print("large indexes: " + json.dumps({n: large_index_status(n) for n in LARGE}))
        shutil.rmtree(workdir, ignore_errors=True)
        return 0
    if args.profile == "full":
        try:
            build_large_indexes(runner, sources, [n for n in LARGE if f"query-{n}" in names])
        except PhaseError as exc:
            failures["build-large"] = str(exc)
    queries = query_list(sources, profile["queries"])
    timing_params = {"rounds": profile["rounds"], "warmup": profile["warmup"]}
    if "ingest" in names or "query-1k" in names:
        slice_file = write_slice(sources, profile["slice"], workdir / "slice")
        home = workdir / "home-1k"
        scratch = {"scratch_home": str(workdir / "scratch-home"), "slice_file": str(slice_file)}
        ingest_params = {"home": str(home), "paths": [str(slice_file)], "fmt": "auto"}
        attempt(
            "ingest-bare",
            "bare",
            {
                **scratch,
                "texts_file": str(workdir / "texts.json"),
                "lengths_file": str(workdir / "lengths.json"),
            },
        )
        attempt("ingest-ours", "ingest", ingest_params)
        attempt(
            "ingest-baseline",
            "baseline-ingest",
            {**scratch, "folder": str(workdir / "baseline-1k")},
        )
        attempt("reingest-ours", "ingest", ingest_params)
        if "query-1k" in names and "ingest-ours" in runner.results:
            attempt(
                "query-1k",
                "query",
                {
                    "home": str(home),
                    "baseline_dir": str(workdir / "baseline-1k"),
                    "queries": queries,
                    **timing_params,
                },
            )
    for name in LARGE:
        if f"query-{name}" not in names:
            continue
        status = large_index_status(name)
        if status is None:
            skipped[f"query-{name}"] = (
                f"skipped: no {name} index at {CACHE / f'pubmed-{name}'}; run with --full once "
                "to build it (embeds the passages: up to an hour on 2 cores)"
            )
            print(f"  query-{name:<10} {skipped[f'query-{name}']}")
            continue
        extra[f"index-{name}"] = status
        attempt(
            f"query-{name}",
            "query",
            {
                "home": status["home"],
                "baseline_dir": str(CACHE / f"pubmed-{name}-baseline"),
                "baseline_from_index": True,
                "queries": queries,
                **timing_params,
            },
        )
    if "quality-demo" in names:
        attempt("quality-demo", "quality-demo", {"work": str(workdir / "quality-demo")})
    if "quality-bioasq" in names:
        res = attempt(
            "quality-bioasq",
            "quality-bioasq",
            {"data": str(DATA), "limit": profile["bioasq_questions"]},
        )
        if res and "skipped" in res:
            skipped["quality-bioasq"] = res["skipped"]
    if "draft" in names:
        attempt("draft", "draft", {})
    if "build" in names:
        if (BENCH / "build_bench.py").is_file():
            attempt("build", "build", {"out": str(workdir / "build-results")})
        else:
            skipped["build"] = "skipped: bench/build_bench.py does not exist"
    total_s = time.perf_counter() - t0
    results: dict[str, Any] = {
        "schema": 1,
        "started": started.isoformat(timespec="seconds"),
        "command": " ".join(["bench/perf.py", *(argv_of(args))]),
        "profile": args.profile,
        "params": profile,
        "machine": machine_info(),
        "dropped_env": dropped,
        "load_start": load_start,
        "load_end": loadavg(),
        "total_seconds": round(total_s, 1),
        "phases": runner.results,
        "extra": extra,
        "skipped": skipped,
        "failures": failures,
    }
    rows = build_rows(results)
    results["table"] = rows
    print()
    print(text_table(rows))
    print(f"\nload average: start {load_start}, end {results['load_end']}; total {total_s:.0f} s")
    if not args.no_save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        stem = "perf"
        if args.profile != "default":
            stem += f"-{args.profile}"
        if args.only:
            stem += "-only-" + "-".join(names)
        stem += f"-{started.date().isoformat()}"
        (RESULTS / f"{stem}.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
        (RESULTS / f"{stem}.md").write_text(markdown_report(results, rows))
        print(f"results written to {RESULTS / stem}.json and .md")
    if args.keep:
        print(f"scratch folder kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failures else 0


def argv_of(args: argparse.Namespace) -> list[str]:
    """The options that shaped this run, for the record."""
    out = [] if args.profile == "default" else [f"--{args.profile}"]
    if args.only:
        out += ["--only", args.only]
    return out


# --------------------------------------------------------------------------- report


def _ms(s: dict[str, Any]) -> str:
    return f"{s['p50']:.1f} / {s['p95']:.1f}"


def build_rows(results: dict[str, Any]) -> list[dict[str, str]]:
    """The results table: section, metric, value, note."""
    r = results["phases"]
    rows: list[dict[str, str]] = []

    def row(section: str, metric: str, value: Any, note: str = "") -> None:
        rows.append({"section": section, "metric": metric, "value": str(value), "note": note})

    bare, ours, base, again = (
        r.get("ingest-bare"),
        r.get("ingest-ours"),
        r.get("ingest-baseline"),
        r.get("reingest-ours"),
    )
    if bare and ours:
        sec = ours["timing"]["seconds"]
        row(
            "ingest",
            "slice",
            f"{bare['citations']:,} records → {bare['passages']:,} passages "
            f"({bare['wordpieces']:,} word pieces)",
            "first PubMed records of pubmed21n1298",
        )
        row("ingest", "ours: records/s", round(bare["citations"] / sec, 2))
        row("ingest", "ours: passages/s", ours["passages_per_s"])
        row("ingest", "bare embedder: passages/s", bare["passages_per_s"], "embed_array only")
        row(
            "ingest",
            "ours / bare embedder (passages/s)",
            ratio(ours["passages_per_s"], bare["passages_per_s"]),
            f"CPU-time basis {ratio(bare['timing']['own_cpu_s'], ours['timing']['own_cpu_s'])}",
        )
    if base:
        row(
            "ingest",
            "baseline Chroma.from_documents: passages/s",
            base["passages_per_s"],
            f"{base['passages']:,} passages embedded, {base['stored']:,} stored"
            + (f" (ours embedded {ours['embedded']:,})" if ours else ""),
        )
    if ours and base:
        row(
            "ingest",
            "ingest time ours / baseline",
            ratio(ours["timing"]["seconds"], base["timing"]["seconds"]),
            f"CPU-time basis {ratio(ours['timing']['own_cpu_s'], base['timing']['own_cpu_s'])};"
            " < 1 = ours faster",
        )
    if again and ours:
        row(
            "ingest",
            "re-ingest unchanged: time (passages embedded)",
            f"{again['timing']['seconds']:.2f} s ({again['embedded']})",
            f"{ratio(again['timing']['seconds'], ours['timing']['seconds'])} of first ingest",
        )
    for size in SIZES:
        q = r.get(f"query-{size}")
        label = f"query {size}"
        if not q:
            why = results["skipped"].get(f"query-{size}") or results["failures"].get(
                f"query-{size}", "not run"
            )
            row(label, "latency", "—", why.splitlines()[0])
            continue
        lat, cpu = q["latency_ms"], q["cpu_ms"]
        n = f"{q['passages']:,} passages, k={q['k']}, {lat['hybrid']['n']} timed queries/mode"
        row(label, "hybrid p50 / p95 ms", _ms(lat["hybrid"]), n)
        row(label, "dense-only p50 / p95 ms", _ms(lat["dense"]))
        row(label, "baseline similarity_search p50 / p95 ms", _ms(lat["baseline"]))
        row(
            label,
            "hybrid / dense (overhead) p50, p95",
            f"{ratio(lat['hybrid']['p50'], lat['dense']['p50'])}, "
            f"{ratio(lat['hybrid']['p95'], lat['dense']['p95'])}",
            f"CPU p50 {ratio(cpu['hybrid']['p50'], cpu['dense']['p50'])}",
        )
        row(
            label,
            "hybrid / baseline p50, p95",
            f"{ratio(lat['hybrid']['p50'], lat['baseline']['p50'])}, "
            f"{ratio(lat['hybrid']['p95'], lat['baseline']['p95'])}",
            f"dense / baseline p50 {ratio(lat['dense']['p50'], lat['baseline']['p50'])}",
        )
    for key, title in (("quality-demo", "demo eval set"), ("quality-bioasq", "BioASQ half B")):
        qa = r.get(key)
        label = f"quality {title}"
        if not qa or "skipped" in qa:
            why = results["skipped"].get(key) or results["failures"].get(key, "not run")
            row(label, "recall@10", "—", why.splitlines()[0])
            continue
        o, b = qa["ours"], qa["baseline"]
        note = f"{qa['questions']} questions, {qa['passages']:,} passages"
        row(label, "recall@10 ours / baseline", f"{o['recall']:.3f} / {b['recall']:.3f}", note)
        row(label, "  ratio", ratio(o["recall"], b["recall"]))
        row(label, "MRR@10 ours / baseline", f"{o['mrr']:.3f} / {b['mrr']:.3f}")
        row(label, "  ratio", ratio(o["mrr"], b["mrr"]))
        row(label, "hit@1 ours / baseline", f"{o['hit1']:.3f} / {b['hit1']:.3f}")
        lat = qa["latency_ms"]
        row(
            label,
            "latency p50 ours / baseline ms",
            f"{lat['ours']['p50']:.1f} / {lat['baseline']['p50']:.1f}",
            f"depth {qa['depth_passages']} passages",
        )
        if key == "quality-demo":
            row(
                label,
                "demo ingest time ours / baseline",
                ratio(qa["ours_ingest"]["seconds"], qa["baseline_ingest"]["seconds"]),
                f"{qa['ours_ingest']['seconds']:.1f} s vs {qa['baseline_ingest']['seconds']:.1f}"
                f" s, {qa['passages']} passages",
            )
    d = r.get("draft")
    if d:
        row(
            "draft",
            "extractive draft p50 / p95 s",
            f"{d['seconds']['p50']:.2f} / {d['seconds']['p95']:.2f}",
            f"{d['questions']} demo eval questions, warm, demo corpus",
        )
    else:
        row("draft", "extractive draft", "—", results["failures"].get("draft", "not run"))
    build = r.get("build")
    if build:
        cache = build.get("cache", {})
        if cache:
            cold, warm = cache["cold"], cache["warm"]
            row(
                "build",
                "press build, extractive, cold: questions/s",
                round(cache["questions"] / cold["seconds"], 2),
                f"{cache['questions']} demo questions, concurrency {cache['concurrency']}, "
                f"{cold['seconds']:.1f} s",
            )
            row(
                "build",
                "warm rebuild (all cached) s; cold / warm",
                f"{warm['seconds']:.3f} s; {cache['cold_over_warm']}",
            )
        for level, res in (build.get("llm", {}).get("levels") or {}).items():
            row(
                "build",
                f"press build, scripted LLM, concurrency {level}: questions/s",
                res["questions_per_s"],
                f"speed-up vs 1: {res['speedup_vs_1']}",
            )
    else:
        why = results["skipped"].get("build") or results["failures"].get("build", "not run")
        row("build", "press build throughput", "—", why.splitlines()[0])
    for label, res in r.items():
        row("peak memory", label, f"{res['peak_rss_mb']:,.0f} MB", "ru_maxrss of its process")
    return rows


def text_table(rows: list[dict[str, str]]) -> str:
    """A fixed-width table for the terminal."""
    head = ("section", "metric", "value", "note")
    widths = [max(len(h), *(len(r[h]) for r in rows)) for h in head]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(r[h].ljust(w) for h, w in zip(head, widths, strict=True)))
    return "\n".join(lines)


NOISE_NOTE = (
    "Timings are wall clock on a shared machine: read them with the load average and the "
    "'other cores' column (CPU other processes used meanwhile). Ratios measured in one "
    "process with the sides interleaved per query (hybrid / dense / baseline latency, "
    "quality-run latency) are the least noisy; ingest ratios compare phases run back to "
    "back in separate processes and move with other load (CPU-time ratios beside them move "
    "less); p95 of a few hundred queries is noisy; quality numbers are deterministic."
)


def markdown_report(results: dict[str, Any], rows: list[dict[str, str]]) -> str:
    """The Markdown result file."""
    m = results["machine"]
    lines = [
        f"# Performance suite, {results['started'][:16].replace('T', ' ')} UTC",
        "",
        f"Command: `{results['command']}` (profile {results['profile']}); total "
        f"{results['total_seconds']:.0f} s  ",
        f"Machine: {machine_line(m)}  ",
        f"Git: {m['git'].get('commit')} (uncommitted changes: {m['git'].get('dirty')})  ",
        f"Load average (1/5/15 min): start {results['load_start']}, end {results['load_end']}",
        "",
        "Baseline = what a LangChain user writes: `langchain_chroma.Chroma.from_documents(docs, "
        "embedding=MiniLMOnnxEmbeddings(...))` then `similarity_search(query, k)`, fed the "
        "same passages the pipeline indexes (its chunks; text = title + newline + passage) "
        "with the same embedder and settings. Ours = `press ingest` / `HybridRetriever` "
        "with default settings.",
        "",
        NOISE_NOTE,
        "",
        "| section | metric | value | note |",
        "|---|---|---:|---|",
    ]
    for r in rows:
        cells = [r[k].replace("|", "\\|") for k in ("section", "metric", "value", "note")]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Sub-benchmarks (each in its own process)",
        "",
        "| phase | wall s | peak RSS MB | other processes' CPU (cores) | load before → after |",
        "|---|---:|---:|---:|---|",
    ]
    for label, res in results["phases"].items():
        proc = res["process"]
        lines.append(
            f"| {label} | {proc['wall_s']} | {res['peak_rss_mb']:,.0f} | {proc['other_cores']} "
            f"| {proc['load_before']} → {proc['load_after']} |"
        )
    for name in LARGE:
        info = results["extra"].get(f"index-{name}")
        if info:
            lines.append(
                f"\n{name} index: `{info['home']}`, {info['passages']:,} passages, built "
                f"{info['built_at']} in {info['timing']['seconds']:.0f} s "
                f"({info['embedded_in_this_build']:,} embedded"
                + (f", on a copy of {info['copied_from']}" if info.get("copied_from") else "")
                + ")."
            )
    if results["failures"]:
        lines += ["", "## Failures", ""]
        lines += [f"- {k}: {v.splitlines()[0]}" for k, v in results["failures"].items()]
    lines += ["", "Raw numbers: the JSON file of the same name.", ""]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="bench/perf.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick",
        dest="profile",
        action="store_const",
        const="quick",
        help="smaller slice (300 passages), fewer queries, 100 BioASQ questions (~5 min)",
    )
    size.add_argument(
        "--full",
        dest="profile",
        action="store_const",
        const="full",
        help="build the missing 20k/50k indexes first (up to ~1 h each on 2 cores, once; "
        f"kept in {CACHE}), more query rounds",
    )
    parser.set_defaults(profile="default")
    parser.add_argument(
        "--only",
        metavar="NAMES",
        help=f"comma-separated sub-benchmarks to run: {', '.join(NAMES)}",
    )
    parser.add_argument(
        "--build-indexes",
        action="store_true",
        help="only build the missing 20k/50k indexes (for a background run), measure nothing",
    )
    parser.add_argument("--no-save", action="store_true", help="print only; write no files")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--phase-io", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite (or, with the hidden --phase, one phase of it)."""
    args = parse_args(argv)
    if args.phase:
        isolate_settings()
        return phase_child(PHASES[args.phase], args.phase_io)
    return run_suite(args)


if __name__ == "__main__":
    sys.exit(main())
