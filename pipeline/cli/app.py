"""The ``press`` command line (typer).

Each command is a thin shell over one stage function: it builds settings, calls the stage,
prints a table (or JSON with ``--json``) and maps the project's errors to exit codes
(1 = the job failed, 2 = configuration error). No stage logic lives here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from pipeline.cli.common import (
    console,
    current_settings,
    err_console,
    handled,
    open_index,
    progress_bar,
)
from pipeline.models import FIELD_LABELS, EvidenceLevel, SearchFilters
from pipeline.settings import describe

app = typer.Typer(
    help="Evidence Press: evidence-cited clinical answer articles from your own corpus.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect the resolved configuration.", no_args_is_help=True)
corpus_app = typer.Typer(help="Inspect the ingested corpus.", no_args_is_help=True)
index_app = typer.Typer(help="Check or rebuild the search index.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(corpus_app, name="corpus")
app.add_typer(index_app, name="index")


FORMATS = "auto|jsonl|pubmed-xml|medline|ris|bibtex|csl-json|jats|markdown|text|html|pdf"


@config_app.command("show")
def config_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Print every setting, its value and where it came from (default, press.toml, env)."""
    settings = current_settings()
    rows = describe(settings)
    if as_json:
        data = {name: {"value": value, "source": source} for name, value, source in rows}
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    table = Table(title="Evidence Press settings")
    for column in ("setting", "value", "source"):
        table.add_column(column)
    for name, value, source in rows:
        table.add_row(name, str(value), source)
    console.print(table)


@app.command()
def ingest(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders to ingest.", show_default=False)
    ] = None,
    demo: Annotated[
        bool,
        typer.Option("--demo", help="Also ingest the demo corpus shipped with the program."),
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help=f"Input format: {FORMATS}.")] = "auto",
    prune: Annotated[
        bool, typer.Option("--prune", help="Remove passages whose source file vanished.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Re-read files even if their content is unchanged.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Load corpus files into the index (incremental: unchanged files cost nothing).

    Each bad file gets one line saying what is wrong; the rest is ingested; the exit code
    is 1 when any file failed.
    """
    from pipeline.ingest.loaders import FORMATS as KNOWN
    from pipeline.ingest.run import ingest as run_ingest
    from pipeline.resources import demo_corpus_dir
    settings = current_settings()
    paths = [*(paths or []), *([demo_corpus_dir()] if demo else [])]
    if not paths:
        err_console.print(
            "[bold red]error:[/] nothing to ingest\n[yellow]hint:[/] name files or folders, "
            "or pass --demo for the demo corpus shipped with the program"
        )
        raise typer.Exit(2)
    if fmt != "auto" and fmt not in KNOWN:
        err_console.print(f"[bold red]error:[/] unknown format {fmt!r}; choose from {FORMATS}")
        raise typer.Exit(2)
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        err_console.print(f"[bold red]error:[/] no such file or folder: {', '.join(missing)}")
        raise typer.Exit(2)
    with handled():
        index = open_index(settings)
        progress = progress_bar(quiet=as_json)
        with progress:
            files_task = progress.add_task("files", total=None)
            embed_task = progress.add_task("passages embedded", total=None)

            def on_event(event: str, n: int) -> None:
                if event == "files":
                    progress.update(files_task, total=n)
                elif event == "file_done":
                    progress.advance(files_task, n)
                elif event == "embedded":
                    progress.advance(embed_task, n)

            report = run_ingest(paths, index, fmt=fmt, prune=prune, force=force, on_event=on_event)
    if as_json:
        typer.echo(json.dumps(_report_json(report), indent=2))
    else:
        _print_report(report)
    if report.failed:
        raise typer.Exit(1)


def _report_json(report: Any) -> dict[str, Any]:
    return {
        "files": [vars(f) for f in report.files],
        "totals": {
            "files": len(report.files),
            "failed": len(report.failed),
            "citations": report.total("citations"),
            "passages_added": report.total("added"),
            "passages_removed": report.total("removed"),
            "passages_unchanged": report.total("unchanged"),
            "embedded": report.embedded + report.repaired_embedded,
        },
        "repaired": {"deleted": report.repaired_deleted, "embedded": report.repaired_embedded},
        "corpus_version": report.corpus_version,
        "seconds": round(report.seconds, 3),
    }


def _print_report(report: Any) -> None:
    for outcome in report.files:
        for message in outcome.messages:
            style = "red" if outcome.status == "failed" else "yellow"
            err_console.print(f"[{style}]{outcome.path}:[/] {message}", highlight=False)
    statuses = [f.status for f in report.files]
    table = Table(title="Ingest summary", show_header=True)
    for column in ("files", "citations", "added", "updated", "unchanged", "removed", "failed"):
        table.add_column(column, justify="right")
    table.add_row(
        str(len(report.files)),
        str(report.total("citations")),
        str(report.total("added")),
        str(statuses.count("updated")),
        str(report.total("unchanged")),
        str(report.total("removed")),
        str(len(report.failed)),
    )
    console.print(table)
    if report.repaired_deleted or report.repaired_embedded:
        console.print(
            f"repaired an interrupted run: {report.repaired_deleted} stale vectors deleted, "
            f"{report.repaired_embedded} missing vectors embedded"
        )
    console.print(
        f"corpus version {report.corpus_version} · {report.seconds:.1f} s "
        "(added/unchanged/removed count passages; updated counts files)"
    )


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Question or search terms.")],
    k: Annotated[int, typer.Option("-k", help="Number of passages to show.")] = 8,
    year_from: Annotated[int | None, typer.Option(help="Only sources from this year on.")] = None,
    year_to: Annotated[int | None, typer.Option(help="Only sources up to this year.")] = None,
    level: Annotated[
        EvidenceLevel | None,
        typer.Option(help="Only sources at least this strong (guideline > … > other)."),
    ] = None,
    dense_only: Annotated[bool, typer.Option("--dense-only", help="Dense vectors only.")] = False,
    lexical_only: Annotated[bool, typer.Option("--lexical-only", help="BM25 only.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Rank passages for a query with the hybrid retriever and show their citations."""
    from pipeline.retrieve.retriever import HybridRetriever
    if dense_only and lexical_only:
        err_console.print("[bold red]error:[/] choose at most one of --dense-only/--lexical-only")
        raise typer.Exit(2)
    settings = current_settings()
    mode = "dense" if dense_only else "lexical" if lexical_only else "hybrid"
    filters = SearchFilters(year_from=year_from, year_to=year_to, min_level=level)
    with handled():
        index = open_index(settings, require_passages=True)
        retriever = HybridRetriever(index=index, settings=settings.retrieval, mode=mode)
        hits = retriever.search(query, k=k, filters=filters)
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "rank": i + 1,
                        "passage_id": h.passage.id,
                        "citation_id": h.citation.id,
                        "title": h.citation.title,
                        "year": h.citation.year,
                        "evidence_level": h.citation.evidence_level,
                        "score": h.score,
                        "dense_similarity": h.dense_similarity,
                        "lexical_score": h.lexical_score,
                        "text": h.passage.text,
                    }
                    for i, h in enumerate(hits)
                ],
                indent=2,
            )
        )
        return
    if not hits:
        console.print("no passages matched")
        return
    for i, hit in enumerate(hits, 1):
        c = hit.citation
        level_label = (c.evidence_level or EvidenceLevel.OTHER).label
        console.print(
            f"[bold]{i}.[/] [cyan]{c.title or c.id}[/] ({c.year or 'n.d.'}) · {level_label} · "
            f"{c.id} · score {hit.score:.4f}",
            highlight=False,
        )
        snippet = hit.passage.text if len(hit.passage.text) < 300 else hit.passage.text[:297] + "…"
        console.print(f"   {snippet}", highlight=False, markup=False)


@corpus_app.command("stats")
def corpus_stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Counts of files, citations and passages, by evidence level and source kind."""
    from collections import Counter

    settings = current_settings()
    with handled():
        index = open_index(settings)
        counts = index.passage_db.counts()
        levels: Counter[str] = Counter()
        kinds: Counter[str] = Counter()
        seen: set[str] = set()
        for item in index.passage_db.iter_all():
            if item.citation.id in seen:
                continue
            seen.add(item.citation.id)
            levels[(item.citation.evidence_level or EvidenceLevel.OTHER).value] += 1
            kinds[item.citation.source_kind.value] += 1
        data = {
            **counts,
            "corpus_version": index.passage_db.corpus_version(),
            "evidence_levels": dict(levels),
            "source_kinds": dict(kinds),
            "index": str(settings.index_dir),
        }
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    table = Table(title="Corpus")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key in ("files", "citations", "passages", "corpus_version", "index"):
        table.add_row(key, str(data[key]))
    for level in EvidenceLevel:
        table.add_row(f"level: {level.label}", str(levels.get(level.value, 0)))
    for kind, n in sorted(kinds.items()):
        table.add_row(f"kind: {kind}", str(n))
    console.print(table)


@index_app.command("rebuild")
def index_rebuild() -> None:
    """Recreate the vector and BM25 indexes from the passage store (after damage)."""
    settings = current_settings()
    with handled():
        index = open_index(settings)
        count = index.rebuild()
        info = index.check()
    console.print(f"rebuilt: {count} passages embedded; corpus version {info['corpus_version']}")


@index_app.command("check")
def index_check() -> None:
    """Verify that the passage store and the vector index agree."""
    settings = current_settings()
    with handled():
        info = open_index(settings).check()
    console.print(
        f"ok: {info['passages']} passages, {info['vectors']} vectors, "
        f"corpus version {info['corpus_version']}"
    )


@app.command()
def draft(
    question: Annotated[str, typer.Argument(help="The clinical question, in quotes.")],
    audience: Annotated[
        str | None,
        typer.Option(
            help="clinician (default; a follow-up: its parent's) or patient (plainer language)."
        ),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="Which rendering to print the path of: md|html|json.")
    ] = "md",
    use_llm: Annotated[
        bool | None,
        typer.Option(
            "--llm/--no-llm",
            help="Force the LLM chain or the extractive drafter "
            "(default: LLM when an endpoint is configured).",
        ),
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show the passages and support score per bullet.")
    ] = False,
    k: Annotated[int | None, typer.Option("-k", help="Number of sources to retrieve.")] = None,
    year_from: Annotated[int | None, typer.Option(help="Only sources from this year on.")] = None,
    level: Annotated[
        EvidenceLevel | None, typer.Option(help="Only sources at least this strong.")
    ] = None,
    as_user: Annotated[
        str | None,
        typer.Option("--as", help="Author of the stored revision (default: review.default_user)."),
    ] = None,
    follow_up: Annotated[
        str | None,
        typer.Option(
            "--follow-up",
            metavar="SLUG",
            help="Ask QUESTION as a follow-up of the published article SLUG: its evidence "
            "seeds retrieval and the new draft is linked to it.",
        ),
    ] = None,
) -> None:
    """Draft a house-format article for QUESTION and print the path of the result.

    Writes evidence.json, draft.json, article.md, article.html and article.json under
    outputs/drafts/<slug>/. Without an LLM endpoint the extractive drafter is used and the
    article is labelled "drafted without a language model". The article is also stored in
    the review store as a draft revision (a new article, or a new revision of the article
    with the same question and audience) authored by --as USER.
    """
    from pipeline.cli.acting import draft_author
    from pipeline.cli.review import store_draft_run
    from pipeline.draft.engine import draft_article, save_run
    if audience not in (None, "clinician", "patient"):
        err_console.print("[bold red]error:[/] --audience must be clinician or patient")
        raise typer.Exit(2)
    if fmt not in ("md", "html", "json"):
        err_console.print("[bold red]error:[/] --format must be md, html or json")
        raise typer.Exit(2)
    settings = current_settings()
    with handled():
        index = open_index(settings, require_passages=True)
        author = draft_author(settings, as_user)  # refuse unknown users before drafting
        filters = SearchFilters(year_from=year_from, min_level=level)
        if follow_up is not None:
            from pipeline.cli.review import store_follow_up
            run = store_follow_up(settings, index, follow_up, question, author, audience, use_llm,
                                  filters, k)  # fmt: skip
        else:
            run = draft_article(
                question,
                settings=settings,
                index=index,
                audience=audience or "clinician",  # type: ignore[arg-type]
                use_llm=use_llm,
                filters=filters,
                k=k,
                on_progress=_progress_printer(),
            )
            run.article.slug = store_draft_run(settings, run, author).article().slug
        folder = save_run(run, settings.outputs)
    article = run.article
    if article.failure:
        err_console.print(
            f"[bold red]error:[/] failed — needs redraft: the model's reply missed the house "
            f"format after its repair round ({folder}):",
            highlight=False,
        )
        for violation in article.failure:
            err_console.print(f"  - {violation}", highlight=False, markup=False)
        err_console.print(
            "  hint: redraft (another model, a smaller PRESS_RETRIEVAL__TOKEN_BUDGET, or "
            "--no-llm), or `press edit` the stored revision by hand.",
            highlight=False,
        )
        raise typer.Exit(1)
    flagged = sum(1 for c in article.checks if c.flagged and c.is_bullet)
    others = sum(1 for c in article.checks if c.flagged and not c.is_bullet)
    err_console.print(
        f"{article.provenance.drafter} draft · {len(article.references)} references · "
        f"{flagged} bullets flagged for review · {others} other claims flagged · "
        f"{article.removed_markers} invalid markers removed",
        highlight=False,
    )
    if explain:
        _explain(run)
    typer.echo(
        str(folder / {"md": "article.md", "html": "article.html", "json": "article.json"}[fmt])
    )


def _progress_printer(every_s: float = 10.0) -> Any:
    """A streamed-reply progress callback printing a line to stderr every ``every_s``."""
    last = [0.0]

    def report(chars: int, seconds: float) -> None:
        if seconds - last[0] >= every_s:
            last[0] = seconds
            err_console.print(f"drafting: {chars:,} characters in {seconds:.0f} s", highlight=False)

    return report


def _explain(run: Any) -> None:
    article = run.article
    passages = {p.passage.id: p for item in run.evidence.items for p in item.passages}
    by_number = {r.number: r for r in article.references}
    for check in article.checks:
        text = (
            article.draft.sections[check.section].bullets[check.bullet].text
            if check.is_bullet
            else f"{FIELD_LABELS[check.field]}: {check.text}"
        )
        mark = "[red]flagged[/]" if check.flagged else "[green]ok[/]"
        console.print(f"\n[bold]•[/] {text}", highlight=False, markup=False)
        console.print(f"  support {check.support:.2f} {mark} {check.reason}", highlight=False)
        for number in check.numbers:
            ref = by_number.get(number)
            if ref is not None:
                console.print(f"  [{number}] {ref.text}", highlight=False, markup=False)
        for pid in check.passage_ids:
            if pid in passages:
                text = passages[pid].passage.text
                console.print(f"    passage: {text[:400]}", highlight=False, markup=False)


# Sub-apps live in their own modules and register here, after the core commands exist.
from pipeline.cli.build import register as register_build  # noqa: E402
from pipeline.cli.doctor import register as register_doctor  # noqa: E402
from pipeline.cli.eval import eval_app  # noqa: E402
from pipeline.cli.review import register  # noqa: E402
from pipeline.cli.serve import register as register_serve  # noqa: E402
from pipeline.cli.train import register as register_train  # noqa: E402
from pipeline.cli.users import register as register_users  # noqa: E402

app.add_typer(eval_app, name="eval")
register(app)
register_serve(app)
register_users(app)
register_build(app)
register_doctor(app)
register_train(app)
