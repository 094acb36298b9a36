"""pipeline.web.hints over HTTP: error hints are phrased for the browser, not the shell."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from pipeline.review.workflow import Workflow
from tests.web.conftest import post_action

SignIn = Callable[..., TestClient]


def test_error_hints_are_phrased_for_the_browser(
    sign_in: SignIn, flow: Workflow, seeded: str
) -> None:
    rex = sign_in("rex")
    refused = post_action(rex, seeded, "approve")  # a draft cannot be approved
    assert refused.status_code == 409
    assert "`press" not in refused.text and "press " not in refused.text.split("<main")[1]
    assert "Next steps: Submit" in refused.text
