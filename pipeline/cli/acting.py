"""Who acts in a ``press`` command, and the workflow they act on.

Every review, edit, user and build command names an acting user: ``--as USER``, else the
``review.default_user`` setting, else the login name. That is a command-line concern (flags,
settings, the environment), so it lives here and not in :mod:`pipeline.review`, whose
workflow takes a user name and checks what that user may do; the web desk names its user
from the signed-in session instead. Kept apart from the command modules so the review, user
and drafting commands share one resolution.
"""

from __future__ import annotations

import getpass
import os
from typing import Annotated

import typer

from pipeline.errors import ConfigError
from pipeline.review.workflow import Workflow
from pipeline.settings.load import Settings
from pipeline.store.db import Store

AsUser = Annotated[
    str | None,
    typer.Option("--as", help="Who acts (default: review.default_user, else the login name)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def acting_user(settings: Settings, as_user: str | None) -> str:
    """``--as USER``, else ``review.default_user``, else the login name."""
    if as_user:
        return as_user
    if settings.review.default_user:
        return settings.review.default_user
    try:
        return os.environ.get("USER") or getpass.getuser()
    except OSError as exc:  # no login name at all (some containers)
        raise ConfigError(
            "No acting user: no --as USER, no review.default_user and no login name",
            "Pass --as USER or set PRESS_REVIEW__DEFAULT_USER.",
        ) from exc


def workflow(settings: Settings) -> Workflow:
    """The workflow on the store the settings point at."""
    return Workflow(Store.from_settings(settings))


def draft_author(settings: Settings, as_user: str | None) -> str:
    """The user ``press draft`` stores as (checked before any drafting is paid for)."""
    return workflow(settings).draft_author(acting_user(settings, as_user)).name
