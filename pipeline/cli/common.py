"""What every ``press`` command module shares: the consoles, error handling, progress bars.

Kept apart from :mod:`pipeline.cli.app` so sub-command modules (evaluation, review, builds,
the desk) import it without importing the main app, and so all of them report errors and
progress the same way.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from pipeline.errors import PressError
from pipeline.settings.load import Settings, load_settings

console = Console()
err_console = Console(stderr=True)


@contextmanager
def handled() -> Iterator[None]:
    """Turn project errors into a red message with its hint and the error's exit code."""
    try:
        yield
    except PressError as exc:
        # Messages quote user input (slugs, questions): never let it be read as markup.
        err_console.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False)
        if exc.hint:
            err_console.print(f"[yellow]hint:[/] {escape(exc.hint)}", highlight=False)
        raise typer.Exit(exc.exit_code) from exc


def progress_bar(*, quiet: bool) -> Progress:
    """A progress bar on standard error; silent with ``quiet`` (``--json``) or off a terminal."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=quiet or not sys.stderr.isatty(),
        transient=True,
    )


def current_settings() -> Settings:
    """The resolved settings; a configuration error exits with its hint."""
    with handled():
        return load_settings()


def open_index(settings: Settings, *, require_passages: bool = False) -> Any:
    """Open the index; with ``require_passages``, refuse an empty one with a hint."""
    from pipeline.errors import IndexError_, RetrievalError
    from pipeline.index.hybrid import Index
    index = Index(settings)
    passages = index.passage_db.counts()["passages"] if require_passages else 0
    if require_passages and passages == 0:
        raise RetrievalError(
            f"The index at {settings.index_dir} is empty",
            "Ingest a corpus first, e.g. `press ingest corpus/demo`.",
        )
    # A deleted vector index reopens as an empty collection: searching it would quietly
    # fall back to BM25 alone, so say so instead.
    if require_passages and index.vectors.count() == 0:
        raise IndexError_(
            f"The vector index at {settings.index_dir / 'chroma'} is empty but the passage "
            f"store holds {passages} passages",
            "Run `press index rebuild` to recreate it from the passage database.",
        )
    return index


def print_table(title: str, columns: list[str], rows: list[dict[str, Any]]) -> None:
    """Print ``rows`` as a table of ``columns``; cells are plain text, never rich markup."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        cells = (row[c] for c in columns)
        table.add_row(*(Text(_cell(v)) for v in cells))  # Text: comments are not markup
    console.print(table)


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return ", ".join(value) if isinstance(value, list) else str(value or "")
