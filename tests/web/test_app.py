"""pipeline.web.app over HTTP: validation errors use the desk's own error page."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of

SignIn = Callable[..., TestClient]


def test_validation_errors_use_the_desks_own_error_page(sign_in: SignIn, seeded: str) -> None:
    ann = sign_in("ann")
    response = ann.post(
        "/drafts", data={"question": "x", "audience": "martian", "csrf_token": csrf_of(ann)}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "Please check the form" in response.text and "Question:" in response.text
    assert '"detail"' not in response.text  # not FastAPI's raw JSON
