"""Fixtures for the web desk tests: an app on a temporary store, signed-in clients.

Passwords are hashed with cheap argon2 parameters here (the production parameters cost
~50 ms per hash, and every sign-in verifies one). Tests that draft, edit or publish pass
the session's demo index; the others get an index factory that fails loudly if called.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pipeline.index.hybrid import Index
from pipeline.review.workflow import Workflow
from pipeline.settings.load import Settings, load_settings
from pipeline.store.db import Store
from pipeline.web import auth
from pipeline.web.app import create_app
from tests.support.review_factories import make_article, staffed

PASSWORD = "correct horse battery"
USERS = ("ann", "rex", "rita", "pam", "ada")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters for tests."""
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(auth, "_HASHER", hasher)
    monkeypatch.setattr(auth, "_DUMMY_HASH", hasher.hash("dummy"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with the store and outputs under tmp_path and a fixed session key."""
    return load_settings(
        home=tmp_path / "home", outputs=tmp_path / "outputs", web={"secret_key": "k" * 40}
    )


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    """The article store, staffed with ann (author), rex, rita (reviewers), pam, ada."""
    store = Store.from_settings(settings)
    staffed(store)
    for name in USERS:
        auth.set_password(store, name, PASSWORD)
    yield store
    store.close()


@pytest.fixture
def flow(store: Store) -> Workflow:
    """The workflow on the test store."""
    return Workflow(store)


def _no_index() -> Index:
    raise AssertionError("this test should not open the search index")


@pytest.fixture
def make_app(settings: Settings, store: Store) -> Callable[..., FastAPI]:
    """Build a desk app on the test store; pass ``index`` to give it one."""

    def make(index: Index | None = None, **kwargs: Any) -> FastAPI:
        factory = (lambda: index) if index is not None else _no_index
        return create_app(settings, store=store, index_factory=factory, use_llm=False, **kwargs)

    return make


@pytest.fixture
def app(make_app: Callable[..., FastAPI]) -> FastAPI:
    """A desk app without a search index."""
    return make_app()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An anonymous client (no redirects followed)."""
    with TestClient(app, follow_redirects=False) as anonymous:
        yield anonymous


@pytest.fixture
def sign_in(app: FastAPI) -> Iterator[Callable[..., TestClient]]:
    """``sign_in("rex")`` → a client signed in as rex (on ``app``, or the one passed)."""
    clients: list[TestClient] = []

    def make(name: str, on: FastAPI | None = None) -> TestClient:
        signed = TestClient(on or app, follow_redirects=False)
        signed.__enter__()
        clients.append(signed)
        response = login(signed, name, PASSWORD)
        assert response.status_code == 303, response.text
        return signed

    yield make
    for signed in clients:
        signed.__exit__(None, None, None)


def csrf_of(client: TestClient, path: str = "/queue") -> str:
    """The CSRF token of ``client``'s session, read from a page's form."""
    found = _CSRF.search(client.get(path).text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def login(client: TestClient, name: str, password: str) -> Any:
    """POST the login form as a browser would (token from the login page)."""
    token = csrf_of(client, "/login")
    return client.post("/login", data={"username": name, "password": password, "csrf_token": token})


@pytest.fixture
def seeded(flow: Workflow) -> str:
    """An article drafted by ann (status draft); returns its slug."""
    article, evidence = make_article()
    return flow.store_draft("ann", article, evidence).article().slug


def post_action(
    client: TestClient, slug: str, command: str, *, comment: str = "", **overrides: Any
) -> Any:
    """Submit an action form as the article page renders it."""
    page = client.get(f"/articles/{slug}").text
    version = re.search(r'name="version" value="(\d+)"', page)
    revision = re.search(r'name="revision" value="(\d+)"', page)
    data = {
        "csrf_token": _CSRF.search(page).group(1),  # type: ignore[union-attr]
        "version": version.group(1) if version else "1",
        "revision": revision.group(1) if revision else "1",
        "comment": comment,
        "confirm": "yes",  # the box publish, withdraw and retract ask to be ticked
        **overrides,
    }
    return client.post(f"/articles/{slug}/actions/{command}", data=data)
