"""Sign-in and sign-out.

``POST /login`` is rate-limited per (user name, client address) and needs the CSRF token of
the session the login form started; a successful sign-in starts a fresh session. Only
local paths are accepted as ``next`` (no open redirect).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from pipeline.web import sessions
from pipeline.web.auth import authenticate
from pipeline.web.csrf import require_csrf
from pipeline.web.desk import desk_of

router = APIRouter()


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else the queue."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/queue"


@router.get("/")
def home() -> Response:
    """The queue is the desk's front page."""
    return RedirectResponse("/queue", status_code=303)


@router.get("/login")
def login_form(request: Request, next: str = "/queue") -> Response:
    """The sign-in form."""
    return desk_of(request).page(request, "login.html.j2", {"next": safe_next(next), "error": ""})


@router.post("/login", dependencies=[Depends(require_csrf)])
def login(
    request: Request,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form()] = "/queue",
) -> Response:
    """Check the password; 429 after too many failures, 401 on a wrong one."""
    desk = desk_of(request)
    address = request.client.host if request.client else "unknown"
    wait = desk.limiter.retry_after(username, address)
    if wait is not None:
        raise HTTPException(
            429,
            f"Too many failed sign-ins for {username}. Try again in {int(wait) + 1} seconds.",
            headers={"Retry-After": str(int(wait) + 1)},
        )
    user = authenticate(desk.store, username, password)
    if user is None:
        desk.limiter.failed(username, address)
        context = {"next": safe_next(next), "error": "Wrong user name or password."}
        return desk.page(request, "login.html.j2", context, status_code=401)
    desk.limiter.succeeded(username, address)
    sessions.sign_in(request, user.name)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout", dependencies=[Depends(require_csrf)])
def logout(request: Request) -> Response:
    """End the session."""
    sessions.sign_out(request)
    return RedirectResponse("/login", status_code=303)
