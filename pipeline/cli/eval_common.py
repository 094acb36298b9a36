"""What every ``press eval`` command shares: its options, the index it runs on, the ending.

Split from :mod:`pipeline.cli.eval` (the commands themselves) along the seam between "run one
evaluation" and "what happens around every run": the typed ``--set/--corpus/--out/--html/
--json/--compare/--tol-*`` options, :func:`open_eval_index` (the configured index or a
reusable one built from ``--corpus``), :func:`parse_tolerances`, and :func:`finish` (write the JSON
and HTML reports, print the summary table, compare with an old report and exit
:data:`REGRESSION_EXIT` on a regression). Heavy stages are imported inside the functions that
need them so ``press --help`` stays fast.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from pipeline.cli.common import console, err_console, handled
from pipeline.errors import InputError, RetrievalError
from pipeline.evaluate.compare import Delta, Tolerances, compare_reports, regressions
from pipeline.settings.load import Settings

REGRESSION_EXIT = 3
"""The exit code of an evaluation that regressed beyond its tolerances (``--compare``)."""

SetOpt = Annotated[Path, typer.Option("--set", help="Question set (JSONL).", show_default=False)]
CorpusOpt = Annotated[
    Path | None,
    typer.Option(help="Corpus JSONL to ingest into a reusable evaluation index (default: "
                 "the configured index)."),
]  # fmt: skip
OutOpt = Annotated[
    Path | None, typer.Option("--out", help="Write the JSON report here (and HTML beside it).")
]
HtmlOpt = Annotated[
    Path | None, typer.Option("--html", help="HTML report path (default: OUT.html).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the JSON report to stdout.")]
CompareOpt = Annotated[
    Path | None,
    typer.Option("--compare", help="Old JSON report: print deltas, exit 3 on a regression."),
]
TolRetrieval = Annotated[
    float, typer.Option(help="Allowed drop of recall@k/hit/MRR/nDCG/evidence recall.")
]
TolValidity = Annotated[float, typer.Option(help="Allowed drop of citation validity.")]
TolSupport = Annotated[float, typer.Option(help="Allowed drop of citation support.")]
TolStructure = Annotated[float, typer.Option(help="Allowed drop of structure compliance.")]
TolAbstention = Annotated[
    float, typer.Option(help="Allowed drop of correct abstentions (and rise of false ones).")
]
TolVerdict = Annotated[float, typer.Option(help="Allowed drop of verdict agreement.")]


def open_eval_index(
    settings: Settings, corpus: Path | None, progress: Progress
) -> tuple[Any, str | None]:
    """The index to evaluate on, and the corpus path recorded in the report."""
    if corpus is None:
        from pipeline.index.hybrid import Index  # heavy: Chroma (about 1.6 s measured, off --help)

        index = Index(settings)
        if index.passage_db.counts()["passages"] == 0:
            raise RetrievalError(
                f"The index at {settings.index_dir} is empty",
                "Ingest a corpus first (`press ingest corpus/demo`) or pass --corpus FILE.",
            )
        return index, None
    # Heavy: the evaluation index pulls in the ingest stage and the embedder.
    from pipeline.evaluate.indexes import open_corpus_index

    task = progress.add_task(f"indexing {corpus.name}", total=None)

    def on_event(event: str, n: int) -> None:
        if event == "embedded":
            progress.advance(task, n)

    built = open_corpus_index(corpus, settings, on_event=on_event)
    progress.remove_task(task)
    err_console.print(
        f"{'reused' if built.reused else 'built'} evaluation index {built.settings.home}",
        highlight=False,
    )
    for message in built.messages[:10]:
        err_console.print(f"[yellow]{corpus}:[/] {message}", highlight=False)
    return built.index, str(corpus)


def parse_tolerances(**values: float) -> Tolerances:
    """The tolerances from the ``--tol-*`` options; a negative one is a usage error (exit 2)."""
    with handled():
        try:
            return Tolerances(**values)
        except ValueError as exc:
            raise InputError(f"invalid tolerance: {exc}", "Tolerances are >= 0.") from exc


def print_deltas(deltas: list[Delta], to_stderr: bool) -> None:
    """A table of old, new, delta and tolerance per metric, regressions in red."""
    table = Table(title="Compared with the old report")
    for column in ("metric", "old", "new", "delta", "tolerance", ""):
        table.add_column(column, justify="left" if column in ("metric", "") else "right")

    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.4f}"

    for d in deltas:
        status = "[red]REGRESSION[/]" if d.regression else ""
        delta = "n/a" if d.delta is None else f"{d.delta:+.4f}"
        tolerance = "—" if d.tolerance is None else f"{d.tolerance:g}"
        table.add_row(d.metric, fmt(d.old), fmt(d.new), delta, tolerance, status)
    (err_console if to_stderr else console).print(table)


def finish(
    report: Any,
    *,
    out: Path | None,
    html: Path | None,
    as_json: bool,
    compare: Path | None,
    tolerances: Tolerances,
    summary: Callable[[dict[str, Any]], Table],
) -> None:
    """Write the reports, print the summary (or JSON) and, with ``compare``, the deltas.

    Exits with :data:`REGRESSION_EXIT` when a metric regressed beyond its tolerance.
    """
    # Heavy: the report renderer loads Jinja and the HTML templates (about 1.9 s measured).
    from pipeline.evaluate.report import load_report, render_html, write_reports

    data = report.model_dump(mode="json")
    with handled():
        old = load_report(compare) if compare else None
        if out is not None:
            json_path, html_path = write_reports(report, out, html)
            err_console.print(f"wrote {json_path} and {html_path}", highlight=False)
        elif html is not None:
            html.parent.mkdir(parents=True, exist_ok=True)
            html.write_text(render_html(data), encoding="utf-8")
            err_console.print(f"wrote {html}", highlight=False)
        if as_json:
            typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        else:
            console.print(summary(data))
        if old is not None:
            deltas = compare_reports(old, data, tolerances)
            print_deltas(deltas, to_stderr=as_json)
            bad = regressions(deltas)
            if bad:
                err_console.print(
                    f"[bold red]regression:[/] {', '.join(d.metric for d in bad)}", highlight=False
                )
                raise typer.Exit(REGRESSION_EXIT)
