"""What every ``press`` command module shares: the consoles, error handling, progress bars.

Kept apart from :mod:`pipeline.cli` so sub-command modules (evaluation, review, builds,
the desk) import it without importing the main app, and so all of them report errors and
progress the same way.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pipeline.errors import PressError

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
