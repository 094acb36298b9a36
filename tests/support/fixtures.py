"""Pytest fixtures for the scripted OpenAI-compatible server.

Registered for the whole suite by ``pytest_plugins = ["tests.support.fixtures"]`` in
``tests/conftest.py``.  Each test gets its own server on its own port, stopped (hangs and
stalls included) when the test ends::

    def test_draft(openai_server: ScriptedOpenAIServer) -> None:
        openai_server.enqueue(Reply.text("Aspirin lowers the risk."))
        llm = ChatOpenAI(base_url=openai_server.base_url, api_key="test", model="test-model")
        assert llm.invoke("question").content == "Aspirin lowers the risk."
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.openai_server import ScriptedOpenAIServer


@pytest.fixture
def openai_server() -> Iterator[ScriptedOpenAIServer]:
    """A started :class:`ScriptedOpenAIServer` with default settings, stopped after the test."""
    with ScriptedOpenAIServer() as server:
        yield server


@pytest.fixture
def make_openai_server() -> Iterator[Callable[..., ScriptedOpenAIServer]]:
    """A factory for servers with custom settings (``embedding_dim``, ``require_auth``, ...).

    Every server it starts is stopped after the test.
    """
    servers: list[ScriptedOpenAIServer] = []

    def make(**kwargs: Any) -> ScriptedOpenAIServer:
        server = ScriptedOpenAIServer(**kwargs).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
