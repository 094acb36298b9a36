"""Signed session cookies (Starlette's ``SessionMiddleware``, itsdangerous signatures).

The cookie holds only a random session token, the CSRF token and a one-shot flash message;
it is ``HttpOnly``, ``SameSite=Lax`` and ``Secure`` when ``web.https_only`` is set. Who is
signed in is decided server-side: the token names a row of the store's ``sessions`` table
(:mod:`pipeline.store.sessions`), which sign-out, a password or role change and disabling
or removing the user end at once, and which idle and absolute timeouts expire. A copy of
an old cookie therefore signs nobody in, whatever its signature says.
The signing key is ``web.secret_key`` or, when unset, a random key generated once and kept
in ``<home>/web_secret`` readable by its owner only (0600), so sessions survive a restart.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from starlette.requests import Request

from pipeline.settings.load import Settings

COOKIE = "press_session"
TOKEN_KEY = "sid"
FLASH_KEY = "flash"


def secret_key(settings: Settings) -> str:
    """The key that signs session cookies (see the module docstring)."""
    if settings.web.secret_key is not None:
        return settings.web.secret_key.get_secret_value()
    path = Path(settings.home) / "web_secret"
    if path.is_file():
        return path.read_text("utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: two servers starting at once cannot both write; the loser reads the winner's.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text("utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key


def middleware_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``SessionMiddleware``."""
    return {
        "secret_key": secret_key(settings),
        "session_cookie": COOKIE,
        "max_age": settings.web.session_max_age_s,
        "same_site": "lax",
        "https_only": settings.web.https_only,
    }


def session_token(request: Request) -> str | None:
    """The session token the cookie carries, or ``None``."""
    token = request.session.get(TOKEN_KEY)
    return token if isinstance(token, str) and token else None


def sign_in(request: Request, token: str) -> None:
    """Start a fresh cookie for the stored session ``token`` (everything before is dropped)."""
    request.session.clear()
    request.session[TOKEN_KEY] = token


def sign_out(request: Request) -> None:
    """Forget the session in the cookie (the caller ends the stored row)."""
    request.session.clear()


def flash(request: Request, message: str) -> None:
    """Show ``message`` once, on the next page."""
    request.session[FLASH_KEY] = message


def pop_flash(request: Request) -> str | None:
    """The pending flash message, removed from the session."""
    message = request.session.pop(FLASH_KEY, None)
    return message if isinstance(message, str) else None
