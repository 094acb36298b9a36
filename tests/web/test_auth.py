"""Sign-in, sessions, CSRF, the login rate limit, security headers and stored passwords."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pipeline.errors import NotFoundError, ReviewError
from pipeline.review.workflow import Workflow
from pipeline.settings.load import Settings, load_settings
from pipeline.store.credentials import Credentials
from pipeline.store.db import Store
from pipeline.web import auth
from pipeline.web.app import CSP, create_app
from pipeline.web.ratelimit import LoginLimiter
from pipeline.web.sessions import secret_key
from tests.web.conftest import PASSWORD, csrf_of, login

GET_PAGES = [
    "/queue",
    "/articles/does-drug-x-help-condition-y",
    "/articles/does-drug-x-help-condition-y/edit",
    "/articles/does-drug-x-help-condition-y/diff",
    "/articles/does-drug-x-help-condition-y/follow-up?question=why",
    "/drafts/new",
    "/jobs/abc",
    "/jobs/abc.json",
]


@pytest.mark.parametrize("path", GET_PAGES)
def test_pages_redirect_anonymous_users_to_login(
    client: TestClient, seeded: str, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/")


@pytest.mark.parametrize(
    "path",
    [
        "/logout",
        "/drafts",
        "/articles/does-drug-x-help-condition-y/actions/submit",
        "/articles/does-drug-x-help-condition-y/edit",
        "/articles/does-drug-x-help-condition-y/follow-up",
    ],
)
def test_posts_without_a_session_are_forbidden(client: TestClient, seeded: str, path: str) -> None:
    response = client.post(path, data={"csrf_token": "guess", "question": "Why not?"})
    assert response.status_code == 403


def test_login_starts_a_session_and_logout_ends_it(client: TestClient) -> None:
    response = login(client, "rex", PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/queue"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    page = client.get("/queue")
    assert page.status_code == 200 and 'data-testid="current-user">rex<' in page.text
    out = client.post("/logout", data={"csrf_token": csrf_of(client)})
    assert out.status_code == 303
    assert client.get("/queue").status_code == 303


def test_secure_cookie_when_https_only(settings: Settings, store: Store) -> None:
    secure = load_settings(home=settings.home, web={"secret_key": "s" * 40, "https_only": True})
    app = create_app(secure, store=store)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as browser:
        response = login(browser, "rex", PASSWORD)
    assert response.status_code == 303
    assert "secure" in response.headers["set-cookie"].lower()


def test_login_redirects_only_to_local_paths(client: TestClient) -> None:
    token = csrf_of(client, "/login")
    for target, expected in [("/articles/x", "/articles/x"), ("//evil.example", "/queue"),
                             ("https://evil.example/", "/queue")]:  # fmt: skip
        response = client.post(
            "/login",
            data={"username": "rex", "password": PASSWORD, "csrf_token": token, "next": target},
        )
        assert response.headers["location"] == expected
        token = csrf_of(client)


def test_wrong_password_and_unknown_user_are_refused_alike(client: TestClient) -> None:
    wrong = login(client, "rex", "not the password")
    nobody = login(client, "nobody", PASSWORD)
    for response in (wrong, nobody):
        assert response.status_code == 401
        assert "Wrong user name or password." in response.text
    assert client.get("/queue").status_code == 303


def test_login_needs_the_csrf_token(client: TestClient) -> None:
    client.get("/login")
    missing = client.post("/login", data={"username": "rex", "password": PASSWORD})
    bad = client.post(
        "/login", data={"username": "rex", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert missing.status_code == bad.status_code == 403


def test_login_is_rate_limited_per_user(client: TestClient) -> None:
    for _ in range(5):
        assert login(client, "rex", "wrong password").status_code == 401
    blocked = login(client, "rex", PASSWORD)
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert login(client, "ann", PASSWORD).status_code == 303  # other users are not locked out


def test_rate_limiter_backoff_window_and_reset() -> None:
    now = [1000.0]
    limiter = LoginLimiter(2, 60, clock=lambda: now[0])
    limiter.failed("Rex", "1.2.3.4")
    assert limiter.retry_after("rex", "1.2.3.4") is None
    limiter.failed("rex", "1.2.3.4")
    assert limiter.retry_after("rex", "1.2.3.4") == pytest.approx(1)  # then 2, 4 … up to 60
    limiter.failed("rex", "1.2.3.4")
    assert limiter.retry_after("rex", "1.2.3.4") == pytest.approx(2)
    assert limiter.retry_after("rex", "5.6.7.8") is None  # a clean address is never held back
    now[0] += 61
    assert limiter.retry_after("rex", "1.2.3.4") is None
    limiter.failed("rex", "1.2.3.4")
    limiter.failed("rex", "1.2.3.4")
    limiter.succeeded("rex", "1.2.3.4")
    assert limiter.retry_after("rex", "1.2.3.4") is None


def test_security_headers_on_every_response(client: TestClient) -> None:
    for response in (client.get("/login"), client.get("/queue"), client.get("/static/desk.css")):
        assert response.headers["content-security-policy"] == CSP
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in CSP and "script-src 'self'" in CSP
    assert "unsafe-inline" not in CSP


def test_unknown_route_is_a_404_page(client: TestClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404 and 'id="error-message"' in response.text


def test_passwords_are_stored_as_argon2_hashes(store: Store) -> None:
    stored = Credentials(store).password_hash("rex")
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored
    assert auth.authenticate(store, "rex", PASSWORD) is not None
    assert auth.authenticate(store, "rex", PASSWORD + "x") is None
    assert "rex" in Credentials(store).names()
    auth.set_password(store, "rex", "a new long password")
    assert auth.authenticate(store, "rex", PASSWORD) is None
    assert auth.authenticate(store, "rex", "a new long password") is not None


def test_password_rules(store: Store) -> None:
    with pytest.raises(ReviewError):
        auth.set_password(store, "rex", "short")
    with pytest.raises(NotFoundError):
        auth.set_password(store, "nobody", PASSWORD)
    assert Credentials(store).password_hash("nobody") is None


def test_generated_session_key_is_private_and_stable(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "keyhome")
    first = secret_key(settings)
    assert len(first) >= 32 and secret_key(settings) == first
    assert (tmp_path / "keyhome" / "web_secret").stat().st_mode & 0o777 == 0o600


def test_site_follow_up_link_survives_the_sign_in(
    client: TestClient, seeded: str, flow: Workflow
) -> None:
    flow.submit("ann", seeded)
    flow.start_review("rex", seeded)
    flow.approve("rex", seeded)
    flow.publish("pam", seeded)  # follow-ups are asked from published articles only
    target = f"/articles/{seeded}/follow-up?question=And+in+children%3F"
    to_login = client.get(target)
    assert to_login.status_code == 303
    login_page = client.get(to_login.headers["location"]).text
    next_value = re.search(r'name="next" value="([^"]+)"', login_page).group(1)  # type: ignore[union-attr]
    token = csrf_of(client, "/login")
    response = client.post(
        "/login",
        data={"username": "ann", "password": PASSWORD, "csrf_token": token, "next": next_value},
    )
    assert response.headers["location"] == target
    form = client.get(response.headers["location"]).text
    assert ">And in children?</textarea>" in form
