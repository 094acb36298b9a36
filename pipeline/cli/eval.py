"""``press eval``: the evaluation harness's command line (a typer sub-app).

Thin shells over :mod:`pipeline.evaluate`, in the style of :mod:`pipeline.cli.app`: build
settings, open the index (the configured one, or a reusable evaluation index built from
``--corpus``), run the evaluation with a progress bar (rich, on stderr, only when stderr
is a terminal), print a summary table (or the JSON report with ``--json``), write the
JSON and HTML reports with ``--out``, and with ``--compare OLD.json`` print the deltas and
exit 3 on a regression beyond the tolerances. Exit codes: 1 = the job failed, 2 = bad
input or configuration, 3 = regression. The options and that shared ending live in
:mod:`pipeline.cli.eval_common`; this module holds the commands and their summary tables.
It does not import :mod:`pipeline.cli.app` (which imports it), so either can be imported first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from pipeline.cli.common import console, err_console, handled, progress_bar
from pipeline.cli.eval_common import (
    REGRESSION_EXIT,
    CompareOpt,
    CorpusOpt,
    HtmlOpt,
    JsonOpt,
    OutOpt,
    SetOpt,
    TolAbstention,
    TolRetrieval,
    TolStructure,
    TolSupport,
    TolValidity,
    TolVerdict,
    finish,
    open_eval_index,
    parse_tolerances,
    print_deltas,
)
from pipeline.errors import InputError
from pipeline.evaluate.compare import Tolerances, compare_reports, regressions
from pipeline.evaluate.convert import convert_pubmedqa
from pipeline.evaluate.sets import EvalQuestion, load_set
from pipeline.settings.load import Settings, load_settings

eval_app = typer.Typer(
    help="Evaluate retrieval and drafted articles against question sets (evals/sets/*.jsonl).",
    no_args_is_help=True,
)
convert_app = typer.Typer(help="Convert published QA datasets to a corpus + question set.")
eval_app.add_typer(convert_app, name="convert")


def _retrieval_table(data: dict[str, Any]) -> Table:
    table = Table(
        title=f"Retrieval at k={data['k']} · {data['n_questions']} questions · {data['seconds']} s"
    )
    keys = ("recall@k", "hit@1", "hit@k", "mrr@10", "ndcg@10", "latency_ms_p50", "latency_ms_p95")
    table.add_column("method")
    for key in keys:
        table.add_column(key, justify="right")
    for name, m in data["methods"].items():
        table.add_row(name, *(f"{m[key]:.3f}" if "@" in key else f"{m[key]:.1f}" for key in keys))
    return table


def _articles_table(data: dict[str, Any]) -> Table:
    m = data["metrics"]
    title = f"Articles · {data['n_questions']} questions · {data['drafter']}"
    table = Table(title=f"{title} · {data['seconds']} s")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("scored on", justify="right")
    rows = [
        ("citation validity", m["citation_validity"], f"{m.get('n_markers', '?')} markers"),
        ("citation support", m["citation_support"], f"{m.get('n_bullets', '?')} claims"),
        ("structure compliance", m["structure_compliance"], f"{data['n_questions']} articles"),
        (
            "verdict agreement",
            m["verdict_agreement"],
            f"{m['n_verdict_scored']} questions ({m.get('n_verdict_given', '?')} gave one)",
        ),
        ("abstention correct", m["abstention_correct"], f"{m['n_unanswerable']} unanswerable"),
        ("false abstention rate", m["false_abstention_rate"], f"{m['n_answerable']} answerable"),
        ("evidence recall", m["evidence_recall"], f"{m.get('n_recall', '?')} answerable"),
    ]
    for name, value, basis in rows:
        table.add_row(name, "n/a" if value is None else f"{value:.3f}", basis)
    for stage, t in data["stages_s"].items():
        table.add_row(f"seconds: {stage}", f"{t['mean']:.3f}", f"mean (total {t['total']:.1f})")
    tokens = data["tokens"]
    table.add_row(
        "tokens per article", f"{tokens['tokens_per_article']:.0f}", f"{tokens['calls']} calls"
    )
    return table


@eval_app.command("retrieval")
def retrieval(
    set_path: SetOpt,
    corpus: CorpusOpt = None,
    k: Annotated[
        int, typer.Option("--k", "-k", min=1, help="Rank cut-off for recall@k and hit@k.")
    ] = 10,
    out: OutOpt = None,
    html: HtmlOpt = None,
    as_json: JsonOpt = False,
    compare: CompareOpt = None,
    tol_retrieval: TolRetrieval = 0.02,
    compare_model: Annotated[
        str | None,
        typer.Option(
            "--compare-model",
            help="A model from `press train`: score the configuration with it as the question "
            "encoder beside the configured one (metrics and latency side by side).",
        ),
    ] = None,
    compare_rerank: Annotated[
        str | None,
        typer.Option(
            "--compare-rerank",
            help="A reranker from `press train --kind reranker`: score the configuration with "
            "it (and --compare-model, if given) beside the configured one, with latency.",
        ),
    ] = None,
    compare_embeddings: Annotated[
        str | None,
        typer.Option(
            "--compare-embeddings",
            help="A bi-encoder from `press train --kind bi-encoder`: re-embed the passages "
            "with it in a copy of the index (the index itself is untouched; the copy is kept "
            "under <home>/eval-indexes and reused while the corpus and the model stay the "
            "same) and score the configuration with it beside the configured one, with "
            "latency. Re-embedding takes about a minute per 15,000 passages here (several "
            "times that with retrieval.second_model, whose vectors are made again too).",
        ),
    ] = None,
    half: Annotated[
        str | None,
        typer.Option(
            "--half",
            help="Score only half A or B of the set, split by sha256(question id) as "
            "`press train --half` splits it: train on A, report on B.",
        ),
    ] = None,
) -> None:
    """Score fused (hybrid), dense-only and lexical-only retrieval against the set's gold ids."""
    # Heavy: retrieval evaluation imports the retriever and Chroma (kept off --help).
    from pipeline.evaluate.retrieval import evaluate_retrieval, scored_questions

    tolerances = parse_tolerances(retrieval=tol_retrieval)
    with handled():
        settings = load_settings()
        questions = _select_half(load_set(set_path), half)
        with progress_bar(quiet=as_json) as progress:
            index, corpus_name = open_eval_index(settings, corpus, progress)
            task = progress.add_task("questions", total=len(scored_questions(questions)))
            report = evaluate_retrieval(
                questions,
                index,
                settings,
                k=k,
                set_name=str(set_path),
                corpus=corpus_name,
                progress=lambda n: progress.advance(task, n),
            )
            trained = None
            label = " + ".join(filter(None, (compare_embeddings, compare_model, compare_rerank)))
            if label:
                update = {"query_model": compare_model} if compare_model else {}
                if compare_rerank:
                    update["rerank_model"] = compare_rerank
                trained_index, trained_settings = index, settings
                if compare_embeddings:
                    trained_index, trained_settings = _re_embedded(
                        index, settings, corpus, compare_embeddings, progress
                    )
                retrieval = trained_settings.retrieval.model_copy(update=update)
                trained_settings = trained_settings.model_copy(update={"retrieval": retrieval})
                task = progress.add_task(label, total=len(scored_questions(questions)))
                trained = evaluate_retrieval(
                    questions, trained_index, trained_settings, k=k, set_name=str(set_path),
                    corpus=corpus_name, progress=lambda n: progress.advance(task, n),
                )  # fmt: skip
    if trained is not None:
        _print_side_by_side(report.model_dump(mode="json"), trained.model_dump(mode="json"),
                            label, to_stderr=as_json)  # fmt: skip
        if out is not None:
            with handled():
                # Heavy: Jinja and the HTML templates (about 1.9 s measured).
                from pipeline.evaluate.report import write_reports

                trained_out = out.with_name(f"{out.stem}.{label.replace(' + ', '+')}"
                                            f"{out.suffix or '.json'}")  # fmt: skip
                paths = write_reports(trained, trained_out, None)
            err_console.print(f"wrote {paths[0]} and {paths[1]}", highlight=False)
    finish(report, out=out, html=html, as_json=as_json, compare=compare,
            tolerances=tolerances, summary=_retrieval_table)  # fmt: skip


def _select_half(questions: list[EvalQuestion], half: str | None) -> list[EvalQuestion]:
    """The questions of ``half`` (all of them when it is ``None``)."""
    if half is None:
        return questions
    if half not in ("A", "B"):
        raise InputError(f"--half must be A or B, not {half!r}", "Use --half B to report on B.")
    from pipeline.train.data import half_of  # light: hashlib and numpy only

    chosen = [q for q in questions if half_of(q.id) == half]
    if not chosen:
        raise InputError(
            f"no question of the set falls in half {half}", "Drop --half to score every question."
        )
    return chosen


def _re_embedded(
    index: Any, settings: Settings, corpus: Path | None, model: str, progress: Progress
) -> tuple[Any, Settings]:
    """The evaluation index embedded by bi-encoder ``model``, and its settings."""
    embeddings = settings.embeddings.model_copy(update={"model": model})
    wanted = settings.model_copy(update={"embeddings": embeddings})
    if corpus is not None:
        built_index, _ = open_eval_index(wanted, corpus, progress)
        return built_index, built_index.settings
    from pipeline.evaluate.indexes import open_rebuilt_index  # heavy: the index stage

    total = index.passage_db.counts()["passages"]
    task = progress.add_task(f"re-embedding with {model}", total=total)
    built = open_rebuilt_index(index, model, progress=lambda n: progress.advance(task, n))
    progress.remove_task(task)
    err_console.print(
        f"{'reused' if built.reused else 'built'} re-embedded index {built.settings.home}",
        highlight=False,
    )
    return built.index, built.settings


def _print_side_by_side(
    default: dict[str, Any], trained: dict[str, Any], name: str, *, to_stderr: bool
) -> None:
    """The configured retriever and the same with trained model(s) ``name``, row by row."""
    keys = ("recall@k", "hit@1", "mrr@10", "ndcg@10", "latency_ms_p50", "latency_ms_p95")
    table = Table(title=f"configured vs trained {name!r} · k={default['k']}")
    table.add_column("method")
    table.add_column("questions")
    for key in keys:
        table.add_column(key, justify="right")
    for method in ("fused", "dense"):
        for label, data in (("stock", default), (name, trained)):
            m = data["methods"][method]
            cells = (f"{m[key]:.3f}" if "@" in key else f"{m[key]:.1f}" for key in keys)
            table.add_row(method, label, *cells)
    (err_console if to_stderr else console).print(table)


@eval_app.command("articles")
def articles(
    set_path: SetOpt,
    corpus: CorpusOpt = None,
    use_llm: Annotated[
        bool | None,
        typer.Option(
            "--llm/--no-llm",
            help="LLM chain or extractive drafter (default: LLM when an endpoint is configured).",
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, help="Draft only the set's first N questions."),
    ] = None,
    out: OutOpt = None,
    html: HtmlOpt = None,
    as_json: JsonOpt = False,
    compare: CompareOpt = None,
    tol_retrieval: TolRetrieval = 0.02,
    tol_validity: TolValidity = 0.0,
    tol_support: TolSupport = 0.05,
    tol_structure: TolStructure = 0.0,
    tol_abstention: TolAbstention = 0.0,
    tol_verdict: TolVerdict = 0.05,
) -> None:
    """Draft every question and score citations, structure, verdicts, abstention and cost."""
    # Heavy: article evaluation imports the drafting stage (about 5 s measured).
    from pipeline.evaluate.articles import evaluate_articles

    tolerances = parse_tolerances(
        retrieval=tol_retrieval,
        citation_validity=tol_validity,
        citation_support=tol_support,
        structure=tol_structure,
        abstention=tol_abstention,
        verdict=tol_verdict,
    )
    with handled():
        settings = load_settings()
        questions = load_set(set_path)[:limit]
        llm_wanted = settings.llm_configured if use_llm is None else use_llm
        with progress_bar(quiet=as_json) as progress:
            index, corpus_name = open_eval_index(settings, corpus, progress)
            task = progress.add_task("articles", total=len(questions))
            report = evaluate_articles(
                questions,
                index,
                settings,
                use_llm=llm_wanted,
                set_name=str(set_path),
                corpus=corpus_name,
                progress=lambda n: progress.advance(task, n),
            )
    finish(report, out=out, html=html, as_json=as_json, compare=compare,
            tolerances=tolerances, summary=_articles_table)  # fmt: skip


def _attribution_table(data: dict[str, Any]) -> Table:
    table = Table(
        title=f"Attribution · margin for the setting {data['recommended_margin']} · "
        f"support threshold {data['support_threshold']} · {data['seconds']} s"
    )
    for column in ("set", "half", "pairs", "detection", "false flags", "margin", "ms/claim"):
        table.add_column(column, justify="left" if column in ("set", "half") else "right")

    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    for s in data["sets"]:
        rows = [("tune", s["tune"], s["margin"]), ("test", s["test"], s["margin"]),
                ("test", s["test_at_setting"], data["recommended_margin"])]  # fmt: skip
        for half, r, margin in rows:
            cells = [str(r["pairs"]), fmt(r["detection"]), fmt(r["false_flags"]), f"{margin:g}"]
            table.add_row(s["name"], half, *cells, f"{s['ms_per_claim']:.1f}")
    return table


@eval_app.command("attribution")
def attribution(
    set_path: Annotated[
        Path, typer.Option("--set", help="Question set whose extractive bullets give demo pairs.")
    ] = Path("evals/sets/demo.jsonl"),
    corpus: CorpusOpt = None,
    bioasq: Annotated[
        Path | None,
        typer.Option(
            help="Folder with BioASQ dev_set.jsonl + snippets_corpus.jsonl (read in place) "
            "for the second set."
        ),
    ] = None,
    bioasq_limit: Annotated[
        int, typer.Option(min=1, help="BioASQ questions (with >= 3 gold snippets) to use.")
    ] = 300,
    out: OutOpt = None,
    html: HtmlOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Is each claim cited to its own source? Detection and false flags of misattribution."""
    # Heavy: the attribution bench imports the support scorer's models.
    from pipeline.evaluate import attribution as bench

    with handled():
        settings = load_settings()
        questions = [q for q in load_set(set_path) if q.answerable]
        with progress_bar(quiet=as_json) as progress:
            index, _ = open_eval_index(settings, corpus, progress)
            task = progress.add_task("drafting demo pairs", total=None)
            sets = [("demo", bench.demo_pairs(bench.drafted_runs(questions, settings, index)))]
            if bioasq is not None:
                sets.append(("bioasq", bench.bioasq_pairs(bioasq, limit=bioasq_limit)))
            progress.update(task, description="scoring pairs")
            report = bench.evaluate_attribution(
                sets, threshold=settings.draft.support_threshold, embed=index.embed
            )
    finish(report, out=out, html=html, as_json=as_json, compare=None,
            tolerances=Tolerances(), summary=_attribution_table)  # fmt: skip


@eval_app.command("compare")
def compare_cmd(
    old: Annotated[Path, typer.Argument(help="The baseline JSON report.")],
    new: Annotated[Path, typer.Argument(help="The new JSON report.")],
    tol_retrieval: TolRetrieval = 0.02,
    tol_validity: TolValidity = 0.0,
    tol_support: TolSupport = 0.05,
    tol_structure: TolStructure = 0.0,
    tol_abstention: TolAbstention = 0.0,
    tol_verdict: TolVerdict = 0.05,
) -> None:
    """Print per-metric deltas between two reports; exit 3 on a regression."""
    # Heavy: Jinja and the HTML templates (about 1.9 s measured).
    from pipeline.evaluate.report import load_report

    tolerances = parse_tolerances(
        retrieval=tol_retrieval,
        citation_validity=tol_validity,
        citation_support=tol_support,
        structure=tol_structure,
        abstention=tol_abstention,
        verdict=tol_verdict,
    )
    with handled():
        deltas = compare_reports(load_report(old), load_report(new), tolerances)
    print_deltas(deltas, to_stderr=False)
    bad = regressions(deltas)
    if bad:
        err_console.print(f"[bold red]regression:[/] {', '.join(d.metric for d in bad)}")
        raise typer.Exit(REGRESSION_EXIT)


@convert_app.command("pubmedqa")
def convert_pubmedqa_cmd(
    path: Annotated[Path, typer.Argument(help="PubMedQA JSON (e.g. pqal_dev.json).")],
    out_dir: Annotated[
        Path, typer.Option("--out-dir", help="Folder for <stem>.corpus.jsonl and <stem>.set.jsonl.")
    ] = Path("outputs/evals/pubmedqa"),
    with_title: Annotated[
        bool,
        typer.Option(
            "--title/--no-title",
            help="Keep each article's title (= the question) in the corpus; --no-title "
            "writes <stem>.notitle.corpus.jsonl with empty titles (a harder retrieval test).",
        ),
    ] = True,
) -> None:
    """Write a corpus (one record per PMID) and a question set (verdict = final_decision)."""
    with handled():
        result = convert_pubmedqa(path, out_dir, with_title=with_title)
    console.print(f"{result.items} items", highlight=False)
    typer.echo(str(result.corpus))
    typer.echo(str(result.set))
