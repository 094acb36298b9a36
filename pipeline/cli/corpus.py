"""``press ingest``, ``press search``, ``press corpus stats`` and ``press index check|rebuild``.

The commands that fill, inspect and repair the passage index. Each is a thin shell over one
stage function (:func:`pipeline.ingest.run.ingest`, :class:`pipeline.retrieve.retriever.
HybridRetriever`, :class:`pipeline.index.Index`). Usage errors are raised as
:class:`pipeline.errors.InputError` inside :func:`pipeline.cli.common.handled`, so they print
and exit (2) like every other project error. The ingest and retrieval stages import Chroma and
the embedding stack: they are imported inside the commands so ``press --help`` and the other
commands do not pay for them. :func:`register` adds the commands to the main app.
"""

from __future__ import annotations

import json
from collections import Counter
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
from pipeline.errors import InputError
from pipeline.models.corpus import EvidenceLevel
from pipeline.models.evidence import SearchFilters
from pipeline.resources import demo_corpus_dir

corpus_app = typer.Typer(help="Inspect the ingested corpus.", no_args_is_help=True)
index_app = typer.Typer(help="Check or rebuild the search index.", no_args_is_help=True)

FORMATS = "auto|jsonl|pubmed-xml|medline|ris|bibtex|csl-json|jats|markdown|text|html|pdf"


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
    # Heavy: the loaders and the ingest stage pull in parsers, Chroma and the embedder
    # (about 3.5 s of imports measured under load, against 3 s for all of `press`).
    from pipeline.ingest.loaders.registry import FORMATS as KNOWN
    from pipeline.ingest.run import ingest as run_ingest

    settings = current_settings()
    paths = [*(paths or []), *([demo_corpus_dir()] if demo else [])]
    with handled():
        if not paths:
            raise InputError(
                "nothing to ingest",
                "name files or folders, or pass --demo for the demo corpus shipped with the "
                "program",
            )
        if fmt != "auto" and fmt not in KNOWN:
            raise InputError(f"unknown format {fmt!r}; choose from {FORMATS}")
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise InputError(f"no such file or folder: {', '.join(missing)}")
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
    # Heavy: the retriever imports Chroma, BM25 and the embedder (about 4.8 s measured).
    from pipeline.retrieve.retriever import HybridRetriever

    with handled():
        if dense_only and lexical_only:
            raise InputError("choose at most one of --dense-only/--lexical-only")
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


def corpus_stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Counts of files, citations and passages, by evidence level and source kind."""
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


def index_rebuild(
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Re-embed every passage and rebuild BM25 from the passage database.

    After damage, or after changing the embedding model (embeddings.backend, or a bi-encoder
    from `press train --kind bi-encoder` named in embeddings.model).
    """
    settings = current_settings()
    with handled():
        index = open_index(settings)
        total = index.passage_db.counts()["passages"]
        with progress_bar(quiet=as_json) as progress:
            task = progress.add_task("passages embedded", total=total)
            count = index.rebuild(lambda n: progress.advance(task, n))
        info = index.check()
    model = index.vectors.model
    if as_json:
        console.print_json(data={"embedded": count, "model": model, **info})
        return
    console.print(
        f"rebuilt: {count} passages embedded with {model}; "
        f"corpus version {info['corpus_version']}",
        highlight=False,
    )


def index_check() -> None:
    """Verify that the passage database and the vector index agree."""
    settings = current_settings()
    with handled():
        info = open_index(settings).check()
    console.print(
        f"ok: {info['passages']} passages, {info['vectors']} vectors, "
        f"corpus version {info['corpus_version']}"
    )


def register(app: typer.Typer) -> None:
    """Add ``ingest``, ``search`` and the ``corpus`` and ``index`` groups to the main app."""
    app.add_typer(corpus_app, name="corpus")
    app.add_typer(index_app, name="index")
    app.command()(ingest)
    app.command()(search)
    corpus_app.command("stats")(corpus_stats)
    index_app.command("rebuild")(index_rebuild)
    index_app.command("check")(index_check)
