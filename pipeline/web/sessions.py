"""Signed session cookies (Starlette's ``SessionMiddleware``, itsdangerous signatures).

The cookie holds only the signed-in user's name, the CSRF token and a one-shot flash
message; it is ``HttpOnly``, ``SameSite=Lax`` and ``Secure`` when ``web.https_only`` is set.
The signing key is ``web.secret_key`` or, when unset, a random key generated once and kept
in ``<home>/web_secret`` readable by its owner only (0600), so sessions survive a restart.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from starlette.requests import Request

from pipeline.settings import Settings

COOKIE = "press_session"
USER_KEY = "user"
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


def current_user(request: Request) -> str | None:
    """The signed-in user's name, or ``None``."""
    name = request.session.get(USER_KEY)
    return name if isinstance(name, str) else None


def sign_in(request: Request, name: str) -> None:
    """Start a fresh session for ``name`` (everything from before is dropped)."""
    request.session.clear()
    request.session[USER_KEY] = name


def sign_out(request: Request) -> None:
    """Forget the session."""
    request.session.clear()


def flash(request: Request, message: str) -> None:
    """Show ``message`` once, on the next page."""
    request.session[FLASH_KEY] = message


def pop_flash(request: Request) -> str | None:
    """The pending flash message, removed from the session."""
    message = request.session.pop(FLASH_KEY, None)
    return message if isinstance(message, str) else None
