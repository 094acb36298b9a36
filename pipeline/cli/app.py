"""The ``press`` command line (typer): the app and the registration of every command group.

Each command is a thin shell over one stage function: it builds settings, calls the stage,
prints a table (or JSON with ``--json``) and maps the project's errors to exit codes
(1 = the job failed, 2 = usage or configuration error, 75 = busy; see
:mod:`pipeline.errors`). No stage logic lives here, and no command either except the
one-line ``config show``: each group lives in a module named after it (:mod:`.corpus` ingest,
search, corpus and index; :mod:`.draft`; :mod:`.review`; :mod:`.users`; :mod:`.eval`;
:mod:`.build`; :mod:`.serve`; :mod:`.doctor`; :mod:`.train`) and exposes ``register(app)``.
The entry point is ``pipeline.cli.app:app``; registration order is the order of ``--help``.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from pipeline.cli import build, corpus, doctor, draft, review, serve, train, users
from pipeline.cli.common import console, current_settings
from pipeline.cli.eval import eval_app
from pipeline.settings.report import describe

app = typer.Typer(
    help="Evidence Press: evidence-cited clinical answer articles from your own corpus.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect the resolved configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")


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


corpus.register(app)
draft.register(app)
app.add_typer(eval_app, name="eval")
review.register(app)
serve.register(app)
users.register(app)
build.register(app)
doctor.register(app)
train.register(app)
