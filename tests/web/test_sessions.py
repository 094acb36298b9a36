"""Sessions end when they should, and sign-in throttling cannot lock a reviewer out.

Reproduces what a security review found: after sign-out a copied cookie still read the
queue; after a password change the old session still acted; nobody could be disabled;
24 wrong passwords over 12 names from one address were all answered 401; five wrong tries
under a name locked its owner out even with the right password.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient

from pipeline.review.users import UserAdmin
from pipeline.settings.load import Settings, load_settings
from pipeline.store.db import Store
from pipeline.store.sessions import Sessions
from pipeline.web import auth
from pipeline.web.app import create_app
from pipeline.web.ratelimit import LoginLimiter
from tests.web.conftest import PASSWORD, csrf_of, login

COOKIE = "press_session"


def _replay(app: FastAPI, cookie: str) -> TestClient:
    """A second browser holding a copy of ``cookie``."""
    thief = TestClient(app, follow_redirects=False)
    thief.cookies.set(COOKIE, cookie)
    return thief


def test_a_copied_cookie_is_refused_after_sign_out(
    app: FastAPI, sign_in: Callable[..., TestClient]
) -> None:
    rex = sign_in("rex")
    copy = rex.cookies[COOKIE]
    assert _replay(app, copy).get("/queue").status_code == 200
    assert rex.post("/logout", data={"csrf_token": csrf_of(rex)}).status_code == 303
    replayed = _replay(app, copy).get("/queue")
    assert replayed.status_code == 303 and replayed.headers["location"].startswith("/login")


def test_a_password_change_ends_the_old_sessions(
    app: FastAPI, sign_in: Callable[..., TestClient], store: Store, seeded: str
) -> None:
    ann = sign_in("ann")
    form = {"csrf_token": csrf_of(ann), "version": "1", "revision": "1", "comment": ""}
    copy = ann.cookies[COOKIE]  # holds the CSRF token too: the request is well-formed
    auth.set_password(store, "ann", "a brand new passphrase")
    old = _replay(app, copy)
    # the old session can neither read nor act (submit would be a state change)
    assert old.get("/queue").status_code == 303
    acted = old.post(f"/articles/{seeded}/actions/submit", data=form)
    assert acted.status_code == 303 and acted.headers["location"].startswith("/login")
    assert store.article(seeded).state.status == "draft"
    assert login(TestClient(app, follow_redirects=False), "ann", PASSWORD).status_code == 401


def test_disable_remove_and_role_changes_end_sessions_at_once(
    app: FastAPI, sign_in: Callable[..., TestClient], store: Store
) -> None:
    admin = UserAdmin(store)
    rex = sign_in("rex")
    admin.disable("rex", by="ada")
    assert _replay(app, rex.cookies[COOKIE]).get("/queue").status_code == 303
    assert login(TestClient(app, follow_redirects=False), "rex", PASSWORD).status_code == 401
    admin.enable("rex", by="ada")
    rex = sign_in("rex")
    admin.set_roles("rex", drop=["reviewer"], add=["author"], by="ada")
    assert rex.get("/queue").status_code == 303
    assert store.user("rex").roles == frozenset({"author"})
    pam = sign_in("pam")
    admin.remove("pam", by="ada")
    assert pam.get("/queue").status_code == 303
    assert store.user("pam").status == "removed" and not store.user("pam").roles
    assert login(TestClient(app, follow_redirects=False), "pam", PASSWORD).status_code == 401


def test_sessions_are_rows_with_idle_and_absolute_timeouts(store: Store) -> None:
    sessions = Sessions(store)
    user = store.user("rex")
    start = datetime(2026, 1, 1, tzinfo=UTC)

    def at(minutes: float) -> str:
        return (start + timedelta(minutes=minutes)).isoformat()

    token = sessions.start(user, address="10.0.0.7", user_agent="Firefox", at=at(0))
    [row] = sessions.list("rex")
    assert (row.address, row.user_agent, row.created_at) == ("10.0.0.7", "Firefox", start)
    assert sessions.user(token, at=at(20), idle_s=1800, max_age_s=7200) == user
    assert sessions.user(token, at=at(45), idle_s=1800, max_age_s=7200) == user  # seen at 20
    assert sessions.user(token, at=at(121), idle_s=1800, max_age_s=7200) is None  # absolute
    token = sessions.start(user, address="10.0.0.7", user_agent="Firefox", at=at(0))
    assert sessions.user(token, at=at(31), idle_s=1800, max_age_s=7200) is None  # idle
    reasons = {r.end_reason for r in sessions.list("rex", open_only=False)}
    assert reasons == {"absolute timeout", "idle timeout"}


def test_the_desk_lists_your_own_sessions(sign_in: Callable[..., TestClient]) -> None:
    first, second = sign_in("rex"), sign_in("rex")
    page = second.get("/account")
    assert page.status_code == 200 and page.text.count('data-testid="session-') == 2
    assert "This browser" in page.text
    ended = second.post("/account/sessions/end-others", data={"csrf_token": csrf_of(second)})
    assert ended.status_code == 303
    assert first.get("/queue").status_code == 303 and second.get("/queue").status_code == 200


# throttling -----------------------------------------------------------------------------


def _client(app: FastAPI, address: str) -> TestClient:
    return TestClient(app, follow_redirects=False, client=(address, 50000))


def test_many_names_from_one_address_are_throttled(app: FastAPI) -> None:
    attacker = _client(app, "203.0.113.9")
    names = [f"user{i}" for i in range(12)] + ["rex"]
    codes = [login(attacker, name, "wrong password").status_code for name in names * 2]
    assert 429 in codes, codes  # 26 tries over 13 names: the address is slowed down
    assert codes[:20] == [401] * 20  # … after web.address_attempts (20) failures


def test_the_right_password_from_a_clean_address_is_never_locked_out(app: FastAPI) -> None:
    attacker = _client(app, "203.0.113.9")
    for _ in range(8):
        login(attacker, "rex", "wrong password")
    assert login(attacker, "rex", PASSWORD).status_code == 429  # the failing address waits
    assert login(_client(app, "198.51.100.4"), "rex", PASSWORD).status_code == 303


def test_behind_a_trusted_proxy_each_client_is_counted_apart(
    settings: Settings, store: Store
) -> None:
    proxied = load_settings(
        home=settings.home, web={"secret_key": "k" * 40, "trusted_proxies": ["127.0.0.1"]}
    )
    app = create_app(proxied, store=store, index_factory=lambda: None, use_llm=False)  # type: ignore[arg-type,return-value]
    proxy = _client(app, "127.0.0.1")
    proxy.headers["x-forwarded-for"] = "203.0.113.9"
    for _ in range(8):
        login(proxy, "rex", "wrong password")
    assert login(proxy, "rex", PASSWORD).status_code == 429
    proxy.headers["x-forwarded-for"] = "198.51.100.4"  # another client behind the same proxy
    assert login(proxy, "rex", PASSWORD).status_code == 303
    # … while without trusted_proxies, a forged header changes nothing
    direct = _client(create_app(settings, store=store, use_llm=False), "203.0.113.50")
    for _ in range(8):
        login(direct, "rex", "wrong password")
    direct.headers["x-forwarded-for"] = "198.51.100.77"
    assert login(direct, "rex", PASSWORD).status_code == 429


def test_hsts_only_when_https_only(settings: Settings, store: Store, client: TestClient) -> None:
    assert "strict-transport-security" not in client.get("/login").headers
    secure = load_settings(home=settings.home, web={"secret_key": "s" * 40, "https_only": True})
    with TestClient(create_app(secure, store=store, use_llm=False)) as https:
        assert "max-age=" in https.get("/login").headers["strict-transport-security"]


def test_limiter_counts_names_and_addresses_apart() -> None:
    now = [0.0]
    limiter = LoginLimiter(5, 300, address_attempts=20, clock=lambda: now[0])
    for i in range(20):
        limiter.failed(f"user{i}", "a")
    assert limiter.retry_after("someone-new", "a") is not None
    assert limiter.retry_after("someone-new", "b") is None
