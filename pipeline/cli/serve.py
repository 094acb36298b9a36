"""``press serve`` (the web review desk) and ``press users password`` (its sign-in).

``pipeline.cli.app`` calls :func:`register` after the review commands exist: ``password`` joins
the ``press users`` group that :mod:`pipeline.cli.review` defines, so user management stays
in one place.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from pipeline.cli.common import console, current_settings, err_console, handled
from pipeline.cli.users import users_app
from pipeline.store.db import Store


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Run the web review desk (queue, article pages with evidence, actions, new drafts)."""
    import uvicorn

    from pipeline.web.app import create_app
    from pipeline.web.auth import has_any_password
    settings = current_settings()
    with handled():
        store = Store.from_settings(settings)
        app = create_app(settings, store=store)
        if not has_any_password(store):
            err_console.print(
                "No user has a web password yet. Add users and set passwords first:\n"
                "  press users add NAME --role author|reviewer|publisher\n"
                "  press users password NAME",
                highlight=False,
                markup=False,
            )
    shown = f"[{host}]" if ":" in host else host
    console.print(f"Review desk on http://{shown}:{port}/  (Ctrl+C stops it)", markup=False)
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)


def users_password(
    name: Annotated[str, typer.Argument(help="The user whose web-desk password to set.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Set a user's password for signing in to the web desk (`press serve`)."""
    from pipeline.web.auth import set_password
    settings = current_settings()
    with handled():
        store = Store.from_settings(settings)
        store.user(name)  # an unknown user is refused before asking for a password
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = typer.prompt(
                f"New password for {name}", hide_input=True, confirmation_prompt=True
            )
        set_password(store, name, password)
    console.print(f"password set for {name}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    """Add ``press serve`` to ``app`` and ``password`` to the ``press users`` group."""
    app.command("serve")(serve)
    users_app.command("password")(users_password)
