"""``press site build``, and the site rebuild that ``press publish`` and ``press retract`` run.

The static site is rebuilt from the verified live publications only
(:func:`pipeline.publish.rebuild.rebuild_site`); this module prints what was rebuilt and any
warning. The publishing stack is imported when a rebuild runs, not when ``press`` starts.
"""

from __future__ import annotations

import typer
from rich.markup import escape

from pipeline.cli.common import current_settings, err_console, handled, open_index
from pipeline.settings.load import Settings
from pipeline.store.db import Store

site_app = typer.Typer(help="The published static site.", no_args_is_help=True)


def rebuild_site_and_report(settings: Settings, store: Store) -> None:
    """Rebuild the static site and print where it went, how many articles, and warnings."""
    from pipeline.publish.rebuild import (  # lazy: +0.6 s on `press` start-up
        articles_phrase,
        rebuild_site,
    )

    report, problems = rebuild_site(settings, store, open_index(settings).embeddings)
    for problem in problems:
        err_console.print(f"[yellow]warning:[/] {escape(problem)}", highlight=False)
    err_console.print(
        f"site rebuilt: {report.site_dir} ({articles_phrase(report.articles)})", markup=False
    )


@site_app.command("build")
def site_build() -> None:
    """Rebuild the static site from every verified live publication."""
    settings = current_settings()
    with handled():
        rebuild_site_and_report(settings, Store.from_settings(settings))
