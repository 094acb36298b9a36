"""One chat call: stream (or not) under a deadline, map every failure to a DraftError.

Three timeouts can end a call, and each is reported as itself with a hint that can help:

* ``llm.timeout_s`` — the openai SDK's socket timeout (silence on the connection);
* ``llm.stream_chunk_timeout_s`` — langchain-openai's limit on the gap between two parsed
  stream chunks (its ``StreamChunkTimeoutError``, a ``TimeoutError``; before this module
  knew it, it was reported as our own deadline, whose hint could not help);
* ``llm.stream_deadline_s`` — our bound on the whole reply (``asyncio.wait_for``), because a
  server that trickles one byte at a time trips neither of the others.

A rejected request (HTTP 400/422, or an error naming a structured-output parameter) is
raised as :class:`~pipeline.errors.ModeRejected` when the caller is negotiating a mode, so
it can try the next one. Servers that report no token usage (llama.cpp while streaming) get
their tokens counted locally with tiktoken (``llm.encoding``), and the usage says so.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import openai
from langchain_core.messages import AIMessage, BaseMessage

from pipeline.draft.llm import run_with_deadline
from pipeline.errors import DraftError, ModeRejected
from pipeline.models.article import Usage
from pipeline.settings.drafting import LLMSettings
from pipeline.tokens import encoding_for_model

HINT = "Check PRESS_LLM__BASE_URL / OPENAI_BASE_URL and the server, or draft with --no-llm."

# A house-format article is a few kB; a streamed reply past this is a runaway model.
MAX_DRAFT_CHARS = 100_000
MAX_REPLY_CHARS = 2 * MAX_DRAFT_CHARS

_MODE_PARAMETER = re.compile(r"tool_choice|tools|response_format|json_schema|grammar", re.I)

Progress = Callable[[int, float], None]
"""Called while a reply streams in: (characters received, seconds since the call began)."""


def call_model(
    model: Any,
    messages: list[BaseMessage],
    settings: LLMSettings,
    usage: Usage,
    *,
    stream: bool = True,
    negotiating: bool = False,
    on_progress: Progress | None = None,
) -> AIMessage:
    """One call of ``model``: the reply, with ``usage`` updated (see module docstring)."""
    started = time.monotonic()

    async def consume() -> AIMessage:
        if not stream:
            result: AIMessage = await model.ainvoke(messages)
            return result
        merged: Any = None
        received = 0
        async for chunk in model.astream(messages):
            # Stop a runaway reply early: merging chunks re-parses the partial tool
            # arguments each time, so a multi-megabyte reply would take minutes.
            received += len(str(chunk.content)) + sum(
                len(c.get("args") or "") for c in getattr(chunk, "tool_call_chunks", [])
            )
            if received > MAX_REPLY_CHARS:
                raise DraftError(
                    f"The model's reply ran past {MAX_REPLY_CHARS:,} characters; "
                    "an article is a few thousand",
                    "Check the model and server (a runaway generation), lower "
                    "PRESS_LLM__MAX_TOKENS, or draft with --no-llm.",
                )
            if on_progress is not None:
                on_progress(received, time.monotonic() - started)
            merged = chunk if merged is None else merged + chunk
        if merged is None:
            raise DraftError("The model's stream ended without any content", HINT)
        return AIMessage(
            content=merged.content,
            tool_calls=getattr(merged, "tool_calls", []),
            invalid_tool_calls=getattr(merged, "invalid_tool_calls", []),
            usage_metadata=getattr(merged, "usage_metadata", None),
            id=merged.id,
        )

    try:
        reply = run_with_deadline(consume(), settings.stream_deadline_s)
    except TimeoutError as exc:
        raise _timeout_error(exc, settings, time.monotonic() - started) from exc
    except openai.APITimeoutError as exc:
        raise DraftError(
            f"The model endpoint sent nothing for {settings.timeout_s:g} s "
            "(llm.timeout_s, the socket timeout)",
            "Raise PRESS_LLM__TIMEOUT_S for a slow server (a CPU model reads a long prompt "
            f"before its first token), or check that it is up. {HINT}",
        ) from exc
    except openai.RateLimitError as exc:
        raise DraftError(
            f"The model endpoint kept answering 429 (rate limited) after "
            f"{settings.max_retries} retries",
            "Wait and retry, lower the build concurrency, or raise PRESS_LLM__MAX_RETRIES.",
        ) from exc
    except openai.APIStatusError as exc:
        if negotiating and (
            exc.status_code in (400, 422) or _MODE_PARAMETER.search(str(exc.message))
        ):
            raise ModeRejected(f"HTTP {exc.status_code}: {exc.message}") from exc
        raise DraftError(
            f"The model endpoint answered HTTP {exc.status_code}: {exc.message}", HINT
        ) from exc
    except openai.APIConnectionError as exc:
        raise DraftError(f"Cannot reach the model endpoint: {exc}", HINT) from exc
    except openai.APIError as exc:
        raise DraftError(f"The model endpoint's reply was unusable: {exc}", HINT) from exc
    except (ValueError, TypeError) as exc:
        # The SDK lets a 200 with a truncated or non-JSON body escape as a bare
        # JSONDecodeError/ValueError/TypeError instead of an APIError.
        raise DraftError(f"The model endpoint sent a malformed response body: {exc}", HINT) from exc
    count_usage(reply, messages, settings, usage)
    return reply


def _timeout_error(exc: TimeoutError, settings: LLMSettings, elapsed: float) -> DraftError:
    """The DraftError naming whichever timeout fired."""
    if type(exc).__name__ == "StreamChunkTimeoutError":
        return DraftError(
            f"The model sent no stream chunk for {settings.stream_chunk_timeout_s:g} s "
            "(llm.stream_chunk_timeout_s, langchain-openai's stream-chunk timeout)",
            "Raise PRESS_LLM__STREAM_CHUNK_TIMEOUT_S for a server that thinks long between "
            "chunks (a CPU model reading a long prompt), or lower PRESS_RETRIEVAL__TOKEN_BUDGET.",
        )
    return DraftError(
        f"The model did not finish its reply within {settings.stream_deadline_s:g} s "
        f"(llm.stream_deadline_s; {elapsed:.0f} s elapsed)",
        "Raise PRESS_LLM__STREAM_DEADLINE_S, lower PRESS_LLM__MAX_TOKENS so replies end "
        "sooner, or check the server's load.",
    )


def count_usage(
    reply: AIMessage, messages: list[BaseMessage], settings: LLMSettings, usage: Usage
) -> None:
    """Add the reply's tokens to ``usage``: the server's counts, else tiktoken's."""
    usage.calls += 1
    reported: dict[str, Any] = dict(reply.usage_metadata or {})
    prompt = int(reported.get("input_tokens", 0) or 0)
    completion = int(reported.get("output_tokens", 0) or 0)
    if prompt == 0 and completion == 0:
        encoding = encoding_for_model(settings.model, settings.encoding)
        prompt = sum(len(encoding.encode(str(m.content), disallowed_special=())) for m in messages)
        produced = str(reply.content) + "".join(
            str(call.get("args", "")) for call in reply.tool_calls
        )
        completion = len(encoding.encode(produced, disallowed_special=()))
        usage.counted_locally = True
    usage.prompt_tokens += prompt
    usage.completion_tokens += completion
