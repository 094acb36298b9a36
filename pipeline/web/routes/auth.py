"""Sign-in and sign-out.

``POST /login`` is throttled per client address and per user name
(:mod:`pipeline.web.ratelimit`) and needs the CSRF token of the session the login form
started; a successful sign-in stores a new session row (:mod:`pipeline.store.sessions`) and
starts a fresh cookie. ``/account`` lists the user's own sessions. Only local paths are
accepted as ``next`` (no open redirect).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from pipeline.store.timestamps import utc_now
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
    address = desk.client_address(request)
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
    agent = request.headers.get("user-agent", "")
    token = desk.sessions.start(user, address=address, user_agent=agent, at=utc_now())
    sessions.sign_in(request, token)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout", dependencies=[Depends(require_csrf)])
def logout(request: Request) -> Response:
    """End the session: its stored row too, so no copy of the cookie signs anyone in."""
    token = sessions.session_token(request)
    if token is not None:
        desk_of(request).sessions.end(token, reason="signed out", at=utc_now())
    sessions.sign_out(request)
    return RedirectResponse("/login", status_code=303)


@router.get("/account")
def account(request: Request) -> Response:
    """The signed-in user's own open sessions (where and when they signed in)."""
    desk = desk_of(request)
    user = desk.user(request)
    current = sessions.session_token(request)
    rows = desk.sessions.list(user.name)
    mine = desk.sessions.current_id(current) if current else None
    context = {"sessions": rows, "current_id": mine}
    return desk.page(request, "account.html.j2", context, user=user)


@router.post("/account/sessions/end-others", dependencies=[Depends(require_csrf)])
def end_other_sessions(request: Request) -> Response:
    """End every session of the signed-in user but this one."""
    desk = desk_of(request)
    user = desk.user(request)
    ended = desk.sessions.end_for_user(
        user.name, reason="ended by the user", at=utc_now(), keep=sessions.session_token(request)
    )
    sessions.flash(request, f"Ended {ended} other session(s).")
    return RedirectResponse("/account", status_code=303)
