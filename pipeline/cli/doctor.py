"""``press doctor`` and ``press --version``: what is installed, where things live, what works.

The checks themselves are in :mod:`pipeline.doctor`; this module prints them.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from pipeline.cli.common import console, current_settings
from pipeline.doctor import DISTRIBUTION, report, run_checks, version

_STYLE = {"ok": "green", "note": "yellow", "problem": "bold red"}


def version_callback(value: bool) -> None:
    """``--version``: print the distribution and version, then exit."""
    if value:
        typer.echo(f"{DISTRIBUTION} {version()}")
        raise typer.Exit()


def doctor(
    llm: Annotated[
        bool, typer.Option("--llm", help="Also send one tiny request to the LLM endpoint.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check the installation: version, where settings, prompts, index, store and outputs
    live, whether the embedding model loads and (with --llm) whether the endpoint answers.

    Each line is ok, note (worth knowing, e.g. no index yet) or problem with how to fix it;
    the exit code is 1 when any check found a problem.
    """
    checks = run_checks(current_settings(), llm=llm)
    data = report(checks)
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        table = Table(title="press doctor", show_lines=False)
        for column in ("check", "status", "detail"):
            table.add_column(column, overflow="fold")
        for check in checks:
            detail = escape(check.detail)
            if check.hint:
                detail += f"\n[yellow]fix:[/] {escape(check.hint)}"
            table.add_row(check.name, f"[{_STYLE[check.status]}]{check.status}[/]", detail)
        console.print(table)
    if not data["ok"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``press doctor`` and the ``--version`` option to the app."""
    app.command("doctor")(doctor)

    @app.callback()
    def main(
        show_version: Annotated[
            bool,
            typer.Option(
                "--version",
                callback=version_callback,
                is_eager=True,
                help="Print the version and exit.",
            ),
        ] = False,
    ) -> None:
        """Evidence Press: evidence-cited clinical answer articles from your own corpus."""
