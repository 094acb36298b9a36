"""The web review desk: a FastAPI app over the same workflow, drafting and rendering code
as the CLI.

:func:`create_app` takes its providers — settings, the article store, a factory for the
search index, the chat model — instead of reaching for globals, so tests build an app on a
temporary store and the demo index (:mod:`pipeline.web.desk` holds what routes share).

Pages are server-rendered Jinja2 templates (autoescape on for every template); the article
body is :func:`pipeline.article.render.to_html_fragment`, which sanitizes with nh3. Every response
carries a Content-Security-Policy that allows only this site's own script and styles, and
forbids framing. Routes live in ``routes_auth`` (sign-in), ``routes_articles`` (queue,
article page, actions, edit, diff) and ``routes_drafts`` (new drafts, follow-ups, jobs).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from langchain_core.language_models import BaseChatModel
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware

from pipeline.errors import LoginRequired, PressError
from pipeline.index.hybrid import Index
from pipeline.settings.load import Settings
from pipeline.store.db import Store
from pipeline.store.records import User
from pipeline.web import sessions
from pipeline.web.desk import STATIC, Desk
from pipeline.web.hints import browser_hint
from pipeline.web.routes import articles as routes_articles
from pipeline.web.routes import auth as routes_auth
from pipeline.web.routes import drafts as routes_drafts

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"
"""Sent when ``web.https_only`` is set: browsers then refuse plain HTTP to the desk."""


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    index_factory: Callable[[], Index] | None = None,
    use_llm: bool | None = None,
    llm: BaseChatModel | None = None,
) -> FastAPI:
    """The desk app: ``store`` defaults to the configured one, ``index_factory`` to
    ``Index(settings)``; ``use_llm``/``llm`` are passed to the drafter as ``press draft``
    would (``None``: the LLM when an endpoint is configured, else the extractive drafter).
    """
    desk = Desk(
        settings,
        store if store is not None else Store.from_settings(settings),
        index_factory if index_factory is not None else (lambda: Index(settings)),
        use_llm=use_llm,
        llm=llm,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        desk.jobs.shutdown(wait=False)

    app = FastAPI(
        title="Evidence Press review desk",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.desk = desk
    app.add_middleware(SessionMiddleware, **sessions.middleware_options(settings))

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if settings.web.https_only:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    _error_handlers(app, desk)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (routes_auth, routes_articles, routes_drafts):
        app.include_router(module.router)
    return app


FIELD_NAMES = {
    "question": "Question",
    "audience": "Audience",
    "comment": "Comment",
    "reason": "Reason",
    "markdown": "Article Markdown",
    "username": "User name",
    "password": "Password",
    "version": "Page version",
    "revision": "Revision",
    "check": "Flagged sentence",
    "based_on": "Revision",
}
"""Form fields by the label the user saw, for validation messages."""


TITLES = {404: "Not found", 409: "Conflict", 502: "Drafting failed", 503: "Busy"}
"""Error-page titles by status; other 4xx are "Refused", other 5xx "Server problem"."""


def error_title(status: int) -> str:
    """The heading of the error page for an HTTP ``status``."""
    return TITLES.get(status, "Refused" if status < 500 else "Server problem")


def _error_handlers(app: FastAPI, desk: Desk) -> None:
    def signed_in(request: Request) -> User | None:
        return desk.signed_in(request)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={quote(exc.next_path, safe='/')}", status_code=303)

    @app.exception_handler(PressError)
    async def press_error(request: Request, exc: PressError) -> Response:
        # The status is the class's own (pipeline.errors): the CLI's exit code and this
        # page's status are decided in one place.
        status = exc.http_status
        context = {
            "title": error_title(status),
            "message": exc.message,
            "hint": browser_hint(exc.hint),
        }
        return desk.page(
            request, "error.html.j2", context, status_code=status, user=signed_in(request)
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_form(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for error in exc.errors():
            where = [str(part) for part in error.get("loc", ()) if part not in ("body", "query")]
            field = FIELD_NAMES.get(where[-1], where[-1]) if where else "the form"
            problems.append(f"{field}: {error.get('msg', 'invalid')}")
        context = {
            "title": "Please check the form",
            "message": "; ".join(problems) or "The form was not filled in as expected.",
            "hint": "Go back, correct the field and send the form again.",
        }
        return desk.page(
            request, "error.html.j2", context, status_code=422, user=signed_in(request)
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        titles = {403: "Forbidden", 404: "Not found", 429: "Too many attempts"}
        context = {"title": titles.get(exc.status_code, "Error"), "message": exc.detail, "hint": ""}
        response = desk.page(
            request,
            "error.html.j2",
            context,
            status_code=exc.status_code,
            user=signed_in(request),
        )
        response.headers.update(exc.headers or {})
        return response
