"""What every route shares: the :class:`Desk` (settings, store, workflow, index, jobs,
templates) and how a route finds it and the signed-in user.

The index (and its embedding model) is opened lazily, once, on the first drafting job,
edit or site rebuild, and every use holds :attr:`Desk.index_lock` (drafting and the
citation check are not meant to run concurrently on one index). Templates are the ``desk/``
namespace of the one Jinja2 environment (:mod:`pipeline.templating`): every desk template is
``.html``, so autoescaped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from langchain_core.language_models import BaseChatModel
from starlette.templating import Jinja2Templates

from pipeline.errors import LoginRequired
from pipeline.index.hybrid import Index
from pipeline.review.machine import Role
from pipeline.review.workflow import Workflow
from pipeline.settings.load import Settings
from pipeline.store.db import Store
from pipeline.store.records import User
from pipeline.store.sessions import Sessions
from pipeline.store.timestamps import utc_now
from pipeline.templating import FOLDERS, environment
from pipeline.web import csrf, sessions
from pipeline.web.jobs import Jobs
from pipeline.web.ratelimit import LoginLimiter, client_address, trusted_networks

TEMPLATES = FOLDERS["desk"][0]
"""The desk's page templates (the ``desk/`` namespace of :mod:`pipeline.templating`)."""
STATIC = Path(__file__).parent / "static"
"""The desk's CSS and script, served under ``/static``."""


class Desk:
    """Everything the routes share: settings, store, workflow, index, jobs, templates."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        index_factory: Callable[[], Index],
        *,
        use_llm: bool | None = None,
        llm: BaseChatModel | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.flow = Workflow(store)
        self.use_llm = use_llm
        self.llm = llm
        self.jobs = Jobs(settings.web.draft_workers)
        self.limiter = LoginLimiter(
            settings.web.login_attempts,
            settings.web.login_window_s,
            address_attempts=settings.web.address_attempts,
        )
        self.sessions = Sessions(store)
        self.proxies = trusted_networks(settings.web.trusted_proxies)
        self.index_lock = threading.Lock()
        self._index_factory = index_factory
        self._index: Index | None = None
        self.templates = Jinja2Templates(env=environment())

    def index(self) -> Index:
        """The search index, opened on first use (call with :attr:`index_lock` held)."""
        if self._index is None:
            self._index = self._index_factory()
        return self._index

    def client_address(self, request: Request) -> str:
        """The client's address (read through the trusted proxies, see ``web.trusted_proxies``)."""
        return client_address(request, self.proxies)

    def signed_in(self, request: Request) -> User | None:
        """The user of the request's stored session if it is still valid, else ``None``."""
        token = sessions.session_token(request)
        if token is None:
            return None
        web = self.settings.web
        return self.sessions.user(
            token, at=utc_now(), idle_s=web.session_idle_s, max_age_s=web.session_max_age_s
        )

    def user(self, request: Request) -> User:
        """The signed-in user; :class:`~pipeline.errors.LoginRequired` when nobody is (no
        session, an ended or expired one, or a disabled or removed user)."""
        user = self.signed_in(request)
        if user is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(target)
        return user

    def page(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        status_code: int = 200,
        user: User | None = None,
    ) -> HTMLResponse:
        """Render ``template`` with the shared context (user, roles, CSRF token, flash)."""
        base = {
            "request": request,
            "user": user,
            "roles": set() if user is None else set(user.roles),
            "may_draft": user is not None and bool({Role.AUTHOR, Role.ADMIN} & set(user.roles)),
            "csrf_token": csrf.csrf_token(request),
            "csrf_field": csrf.FIELD,
            "flash": sessions.pop_flash(request),
        }
        return self.templates.TemplateResponse(
            request, f"desk/{template}", {**base, **(context or {})}, status_code=status_code
        )


def desk_of(request: Request) -> Desk:
    """The :class:`Desk` the app was built with."""
    desk: Desk = request.app.state.desk
    return desk
