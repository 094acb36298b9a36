"""CSRF protection: one random token per session, required on every POST.

Forms carry the token in a hidden ``csrf_token`` field (scripts may send the
``X-CSRF-Token`` header instead); :func:`require_csrf` compares it with the session's in
constant time and refuses with 403 otherwise. The cookie is ``SameSite=Lax`` as well, but
the token is what protects: it does not depend on the browser.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import HTTPException, Request

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
_SESSION_KEY = "csrf"


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get(_SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[_SESSION_KEY] = token
    return token


async def require_csrf(request: Request) -> None:
    """FastAPI dependency: 403 unless the request carries the session's CSRF token."""
    expected = request.session.get(_SESSION_KEY)
    sent = request.headers.get(HEADER)
    if sent is None:
        form = await request.form()  # Starlette caches it; the route reads the same form
        value = form.get(FIELD)
        sent = value if isinstance(value, str) else None
    if not isinstance(expected, str) or not sent:
        raise HTTPException(403, "Missing CSRF token: reload the page and try again.")
    if not hmac.compare_digest(expected.encode(), sent.encode()):
        raise HTTPException(403, "Invalid CSRF token: reload the page and try again.")
