"""Build benchmark for Evidence Press: the cache (cold vs warm) and LLM concurrency.

Run ``.venv/bin/python bench/build_bench.py --help`` for what is measured and how.
This is a script, not a test: it never imports pytest and is not collected by it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from common import PROJECT, Stopwatch, isolate_settings, machine_info, machine_line, ratio

sys.path.insert(0, str(PROJECT))  # the project's packages (pipeline, tests.support)

from pipeline.build.manifest import Manifest
from pipeline.build.report import BuildReport
from pipeline.build.runner import BuildOptions, run_build
from pipeline.evaluate.sets import load_set
from pipeline.index.hybrid import Index
from pipeline.ingest.run import ingest
from pipeline.settings.drafting import LLMSettings
from pipeline.settings.load import Settings, load_settings
from pipeline.settings.service import StoreSettings
from pipeline.store.db import Store
from tests.build.helpers import draft_reply
from tests.support.openai_server import ScriptedOpenAIServer

DEFAULT_OUT = PROJECT / "bench" / "results"
PREFIXES = ("", "In adults, ", "According to current evidence, ", "For a general practitioner: ")

HELP = """\
Benchmark `press build` on the demo corpus (corpus/demo, ingested into a temp home).

Questions: variations of the demo eval set (evals/sets/demo.jsonl): each question with a
few neutral prefixes ("In adults, ", ...), the first --questions of them (default 50).

  1. cache   the questions with the extractive drafter (concurrency --concurrency):
             a cold build (empty store: everything drafted, stored and submitted), then
             the same build again (warm: every key unchanged, nothing drafted).
             Ratio cold/warm = what the cache saves.
  2. llm     the first --llm-questions questions drafted through the LLM chain against
             the scripted OpenAI-compatible server (tests/support/openai_server.py) with
             --latency seconds (default 0.2) added to every reply, at concurrency 1, 4
             and 16, each on an empty store -> questions/s and the speed-up over
             concurrency 1. Retrieval and the citation check still run per question on
             this machine's CPU, so the speed-up is bounded by them, not the latency.

Results: a table on stdout and bench/results/build-<date>.json and .md with machine
info. The default run takes about 2-4 minutes on 2 cores.
"""


def questions(count: int) -> list[str]:
    """``count`` variations of the demo set's questions, in a fixed order."""
    base = [q.question for q in load_set(PROJECT / "evals" / "sets" / "demo.jsonl")]
    variants = [prefix + (q[0].lower() + q[1:] if prefix else q) for prefix in PREFIXES
                for q in base]  # fmt: skip
    if count > len(variants):
        raise SystemExit(f"at most {len(variants)} question variations are available")
    return variants[:count]


def _settings(work: Path, store: str, **llm: Any) -> Settings:
    settings = load_settings(home=work / "home", outputs=work / "outputs")
    update: dict[str, Any] = {"store": StoreSettings(url=f"sqlite:///{work / store}")}
    if llm:
        update["llm"] = LLMSettings(**llm)
    return settings.model_copy(update=update)


def _build(
    manifest: Manifest, settings: Settings, index: Index, concurrency: int
) -> tuple[BuildReport, Stopwatch]:
    store = Store.from_settings(settings)
    try:
        with Stopwatch() as watch:
            report = run_build(
                manifest, settings, index, store, options=BuildOptions(concurrency=concurrency)
            )
    finally:
        store.close()
    if report.failed:
        raise SystemExit(f"build failed: {[r.error for r in report.failed][:3]}")
    return report, watch


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Both phases; returns the results."""
    dropped = isolate_settings()
    work = Path(tempfile.mkdtemp(prefix="press-build-bench-"))
    base = _settings(work, "unused.sqlite")
    index = Index(base)
    ingest([PROJECT / "corpus" / "demo"], index)
    index.embeddings.embed_query("warm-up")  # model load is not part of any build
    qs = questions(args.questions)
    manifest = Manifest(questions=qs, drafter="extractive", path=work / "bench.yaml")  # type: ignore[arg-type]
    extractive = _settings(work, "cache.sqlite")
    cold, cold_watch = _build(manifest, extractive, index, args.concurrency)
    warm, warm_watch = _build(manifest, extractive, index, args.concurrency)
    assert warm.counts["unchanged"] == len(qs), warm.counts
    results: dict[str, Any] = {
        "cache": {
            "questions": len(qs),
            "concurrency": args.concurrency,
            "cold": {**cold_watch.as_dict(), "counts": cold.counts},
            "warm": {**warm_watch.as_dict(), "counts": warm.counts},
            "cold_over_warm": ratio(cold_watch.seconds, warm_watch.seconds, 1),
        },
        "llm": {"questions": args.llm_questions, "latency_s": args.latency, "levels": {}},
    }
    with ScriptedOpenAIServer(default=draft_reply(delay=args.latency)) as server:
        llm_manifest = Manifest(questions=qs[: args.llm_questions], drafter="llm",
                                path=work / "llm.yaml")  # type: ignore[arg-type]  # fmt: skip
        baseline = None
        for level in (1, 4, 16):
            settings = _settings(work, f"llm-{level}.sqlite", base_url=server.base_url,
                                 api_key="bench", model="test-model", timeout_s=60)  # fmt: skip
            before = server.chat_requests
            report, watch = _build(llm_manifest, settings, index, level)
            per_s = args.llm_questions / watch.seconds
            baseline = baseline or per_s
            results["llm"]["levels"][str(level)] = {
                **watch.as_dict(),
                "questions_per_s": round(per_s, 2),
                "speedup_vs_1": ratio(per_s, baseline, 2),
                "requests": server.chat_requests - before,
                "tokens_in": report.tokens_in,
                "tokens_out": report.tokens_out,
            }
    results["dropped_env"] = dropped
    return results


def markdown(data: dict[str, Any]) -> str:
    """The results as a Markdown page."""
    c = data["results"]["cache"]
    llm = data["results"]["llm"]
    lines = [
        f"# Build benchmark, {data['date']}",
        "",
        f"Machine: {machine_line(data['machine'])}",
        "",
        f"## Cache: {c['questions']} questions, extractive drafter, concurrency {c['concurrency']}",
        "",
        "| build | seconds | other cores busy | drafted | unchanged |",
        "|---|---|---|---|---|",
        f"| cold | {c['cold']['seconds']} | {c['cold']['other_cores']} | "
        f"{c['cold']['counts']['new']} | {c['cold']['counts']['unchanged']} |",
        f"| warm | {c['warm']['seconds']} | {c['warm']['other_cores']} | "
        f"{c['warm']['counts']['new']} | {c['warm']['counts']['unchanged']} |",
        "",
        f"Cold / warm: **{c['cold_over_warm']}x**.",
        "",
        f"## LLM: {llm['questions']} questions, scripted server, {llm['latency_s']} s latency",
        "",
        "| concurrency | seconds | questions/s | speed-up vs 1 | requests | other cores busy |",
        "|---|---|---|---|---|---|",
    ]
    for level, row in llm["levels"].items():
        lines.append(
            f"| {level} | {row['seconds']} | {row['questions_per_s']} | "
            f"{row['speedup_vs_1']}x | {row['requests']} | {row['other_cores']} |"
        )
    lines += ["", "Command: `" + data["command"] + "`", ""]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--questions", type=int, default=50, help="Cache phase size.")
    parser.add_argument("--concurrency", type=int, default=2, help="Cache phase workers.")
    parser.add_argument("--llm-questions", type=int, default=32, help="LLM phase size.")
    parser.add_argument("--latency", type=float, default=0.2, help="Scripted reply delay (s).")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Results folder.")
    parser.add_argument("--suffix", default="", help="Appended to the result file names.")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run, print, write the results."""
    args = parse_args(argv)
    date = dt.date.today().isoformat()
    results = run(args)
    data = {
        "date": date,
        "command": "python bench/build_bench.py " + " ".join(argv or sys.argv[1:]),
        "machine": machine_info(),
        "results": results,
    }
    page = markdown(data)
    print(page)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"build-{date}{args.suffix}"
    stem.with_suffix(".json").write_text(json.dumps(data, indent=2) + "\n")
    stem.with_suffix(".md").write_text(page)
    print(f"wrote {stem}.json and {stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
