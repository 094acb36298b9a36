"""The chat model provider: any OpenAI-compatible endpoint through langchain-openai.

``ChatOpenAI`` has no timeout by default; here every request gets ``llm.timeout_s`` (the
longest silence tolerated on the socket), ``llm.stream_chunk_timeout_s`` (langchain-openai's
limit between stream chunks, otherwise 120 s from an environment variable),
``llm.max_tokens`` and ``llm.max_retries`` (429/5xx/connection
errors, with the SDK's exponential backoff honouring ``Retry-After``). A whole streamed reply
is additionally bounded by ``llm.stream_deadline_s`` in :mod:`pipeline.draft.chain`,
because a server that trickles one byte at a time never trips the socket timeout.

Every LLM call of the process runs on one event loop in a daemon thread
(:func:`run_with_deadline`), with HTTP clients this module owns: at interpreter exit their
connections are closed on that loop. (langchain-openai's own cached clients are never
closed, so every process that had called a server used to end with "unclosed socket"
ResourceWarnings.)
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, ClassVar, TypeVar

import openai
from langchain_core.language_models import BaseChatModel

from pipeline.draft.local import LocalServer
from pipeline.errors import ConfigError
from pipeline.models.article import Usage
from pipeline.settings.drafting import LLMSettings
from pipeline.tokens import prepare_cache


def make_chat_model(settings: LLMSettings) -> BaseChatModel:
    """Build the configured chat model (raises ConfigError when none is configured).

    ``llm.provider = "local"`` starts the local llama.cpp server first
    (:class:`pipeline.draft.local.LocalServer`) and sends ``cache_prompt`` with every request.
    """
    base_url = settings.base_url
    extra_body: dict[str, Any] | None = None
    if settings.provider == "local":
        base_url = LocalServer.for_settings(settings).base_url
        # llama.cpp: cache_prompt lets a repair turn skip re-reading the prompt; n_predict
        # caps the reply whichever of max_tokens / max_completion_tokens the server reads.
        extra_body = {"cache_prompt": True, "n_predict": settings.max_tokens}
    elif not (settings.base_url or settings.api_key):
        raise ConfigError(
            "No LLM endpoint is configured",
            "Set OPENAI_API_KEY (and OPENAI_BASE_URL or PRESS_LLM__BASE_URL for a local "
            "server such as vLLM, Ollama or llama.cpp), or draft with --no-llm.",
        )
    # Lazy: langchain-openai adds 0.3-0.6 s to importing the drafting engine (measured), and
    # extractive drafting (no endpoint configured) never needs it.
    from langchain_openai import ChatOpenAI

    prepare_cache()  # token counting inside langchain-openai uses tiktoken
    return ChatOpenAI(
        model=settings.model,
        http_async_client=_LoopThread.http_client(settings.timeout_s),
        base_url=base_url,
        # A local server needs no key, but the SDK insists on one being set.
        api_key=settings.api_key or "not-needed",
        timeout=settings.timeout_s,
        max_retries=settings.max_retries,
        temperature=settings.temperature,
        max_tokens=settings.max_tokens,
        stream_usage=True,
        stream_chunk_timeout=settings.stream_chunk_timeout_s,
        extra_body=extra_body,
    )


def usage_cost(usage: Usage, settings: LLMSettings) -> float | None:
    """Cost of ``usage`` from the configured price table, or None without one."""
    if settings.price_per_1k_input is None or settings.price_per_1k_output is None:
        return None
    return round(
        usage.prompt_tokens / 1000 * settings.price_per_1k_input
        + usage.completion_tokens / 1000 * settings.price_per_1k_output,
        6,
    )


T = TypeVar("T")


class _LoopThread:
    """One event loop in a daemon thread, shared by every LLM call of the process.

    ``asyncio.run`` per call would close the loop the async HTTP client's connections are
    bound to, breaking the next call and leaking its sockets; a long-lived loop keeps the
    client usable, and works even when the caller already runs an event loop. The clients
    (one per timeout, like the SDK's own cache) are closed on this loop at exit.
    """

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None
    _clients: ClassVar[dict[float, openai.DefaultAsyncHttpxClient]] = {}

    @classmethod
    def loop(cls) -> asyncio.AbstractEventLoop:
        with cls._lock:
            if cls._loop is None:
                cls._loop = asyncio.new_event_loop()
                threading.Thread(
                    target=cls._loop.run_forever, name="press-llm-loop", daemon=True
                ).start()
            return cls._loop

    @classmethod
    def http_client(cls, timeout_s: float) -> openai.DefaultAsyncHttpxClient:
        with cls._lock:
            if timeout_s not in cls._clients:
                cls._clients[timeout_s] = openai.DefaultAsyncHttpxClient(timeout=timeout_s)
            return cls._clients[timeout_s]

    @classmethod
    def close(cls) -> None:
        """Close every client's connections on the loop, then stop it (runs at exit)."""
        with cls._lock:
            loop, clients = cls._loop, list(cls._clients.values())
            cls._clients.clear()
        if loop is None or not loop.is_running():
            return

        async def close_all() -> None:
            for client in clients:
                await client.aclose()

        with contextlib.suppress(Exception):  # best effort at exit: nobody left to tell
            asyncio.run_coroutine_threadsafe(close_all(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)


atexit.register(_LoopThread.close)


def run_with_deadline(coroutine: Coroutine[Any, Any, T], seconds: float) -> T:
    """Run ``coroutine`` on the shared loop, cancelled (connection closed) after ``seconds``."""
    future = asyncio.run_coroutine_threadsafe(
        asyncio.wait_for(coroutine, seconds), _LoopThread.loop()
    )
    return future.result()
