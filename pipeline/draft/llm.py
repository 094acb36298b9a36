"""The chat model provider: any OpenAI-compatible endpoint through langchain-openai.

``ChatOpenAI`` has no timeout by default; here every request gets ``llm.timeout_s`` (the
longest silence tolerated on the socket) and ``llm.max_retries`` (429/5xx/connection
errors, with the SDK's exponential backoff honouring ``Retry-After``). A whole streamed reply
is additionally bounded by ``llm.stream_deadline_s`` in :mod:`pipeline.draft.chain`,
because a server that trickles one byte at a time never trips the socket timeout.
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from pipeline.errors import ConfigError
from pipeline.models import Usage
from pipeline.settings import LLMSettings
from pipeline.tokens import prepare_cache


def make_chat_model(settings: LLMSettings) -> BaseChatModel:
    """Build the configured chat model (raises ConfigError when none is configured)."""
    if not (settings.base_url or settings.api_key):
        raise ConfigError(
            "No LLM endpoint is configured",
            "Set OPENAI_API_KEY (and OPENAI_BASE_URL or PRESS_LLM__BASE_URL for a local "
            "server such as vLLM, Ollama or llama.cpp), or draft with --no-llm.",
        )
    from langchain_openai import ChatOpenAI

    prepare_cache()  # token counting inside langchain-openai uses tiktoken
    return ChatOpenAI(
        model=settings.model,
        base_url=settings.base_url,
        # A local server needs no key, but the SDK insists on one being set.
        api_key=settings.api_key or "not-needed",
        timeout=settings.timeout_s,
        max_retries=settings.max_retries,
        temperature=settings.temperature,
        stream_usage=True,
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
