"""The scripted server really behaves like the OpenAI API, as seen by the real clients.

Every test drives the server with the clients the project uses (the ``openai`` SDK and
``langchain_openai``), so these tests also pin down how those clients react to each failure
mode: which exception a hang raises, how retries are paced, what a malformed body does.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import math
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
import openai
import pytest
from langchain_core.messages import AIMessageChunk
from langchain_openai import ChatOpenAI, OpenAIEmbeddings
from openai import OpenAI
from openai.types.chat import ChatCompletionMessageParam
from pydantic import BaseModel, Field, ValidationError

from tests.support.openai_server import Reply, ScriptedOpenAIServer

T = TypeVar("T")

USER: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "Does aspirin prevent stroke?"}
]


class Verdict(BaseModel):
    """Whether the evidence supports a claim."""

    label: str = Field(description="supported, refuted or unclear")
    confidence: float


@contextmanager
def sdk(
    server: ScriptedOpenAIServer, *, timeout: float = 2.0, max_retries: int = 0, **kwargs: Any
) -> Iterator[OpenAI]:
    """A real ``openai.OpenAI`` client pointed at ``server`` (closed afterwards)."""
    with OpenAI(
        base_url=server.base_url,
        api_key="test",
        timeout=timeout,
        max_retries=max_retries,
        **kwargs,
    ) as client:
        yield client


def chat_model(
    server: ScriptedOpenAIServer, *, timeout: float = 2, max_retries: int = 0, **kwargs: Any
) -> ChatOpenAI:
    """A real ``ChatOpenAI`` pointed at ``server``."""
    return ChatOpenAI(
        base_url=server.base_url,
        api_key="test",
        model="test-model",
        timeout=timeout,
        max_retries=max_retries,
        **kwargs,
    )


def raw_http(
    server: ScriptedOpenAIServer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """One request over plain ``http.client``; returns (status, parsed JSON body)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


AUTH = {"Authorization": "Bearer test", "Content-Type": "application/json"}


# --------------------------------------------------------------------------- openai SDK


def test_text_completion_has_realistic_fields(openai_server: ScriptedOpenAIServer) -> None:
    openai_server.enqueue(Reply.text("Aspirin lowers risk.", prompt_tokens=12, completion_tokens=5))
    with sdk(openai_server) as client:
        completion = client.chat.completions.create(model="gpt-test", messages=USER)

    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == "gpt-test"
    assert abs(completion.created - time.time()) < 60
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "Aspirin lowers risk."
    assert choice.message.tool_calls is None
    assert choice.finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (12, 5)
    assert completion.usage.total_tokens == 17

    [request] = openai_server.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["authorization"] == "Bearer test"
    assert request.body == {"model": "gpt-test", "messages": USER}
    assert request.reply == Reply.text(
        "Aspirin lowers risk.", prompt_tokens=12, completion_tokens=5
    )
    assert openai_server.chat_requests == 1
    assert openai_server.pending == 0


def test_token_counts_default_to_a_four_chars_per_token_estimate(
    openai_server: ScriptedOpenAIServer,
) -> None:
    openai_server.enqueue(Reply.text("twelve chars"))
    with sdk(openai_server) as client:
        completion = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x" * 40}]
        )
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (10, 3)


def test_tool_call_reply(openai_server: ScriptedOpenAIServer) -> None:
    openai_server.enqueue(
        Reply.tool_call("lookup", {"query": "aspirin", "k": 3}),
        Reply.tool_call("lookup", {"query": "statins"}, call_id="call_fixed"),
    )
    with sdk(openai_server) as client:
        first = client.chat.completions.create(model="m", messages=USER)
        second = client.chat.completions.create(model="m", messages=USER)

    assert first.choices[0].finish_reason == "tool_calls"
    message = first.choices[0].message
    assert message.content is None
    assert message.tool_calls is not None and len(message.tool_calls) == 1
    call = message.tool_calls[0]
    assert call.type == "function"
    assert call.id.startswith("call_")
    assert call.function.name == "lookup"
    assert call.function.arguments == '{"query":"aspirin","k":3}'
    assert second.choices[0].message.tool_calls[0].id == "call_fixed"  # type: ignore[index]


def test_tool_call_with_raw_malformed_arguments_is_sent_verbatim(
    openai_server: ScriptedOpenAIServer,
) -> None:
    openai_server.enqueue(Reply.tool_call("lookup", '{"query": "asp'))
    with sdk(openai_server) as client:
        completion = client.chat.completions.create(model="m", messages=USER)
    call = completion.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.arguments == '{"query": "asp'  # type: ignore[union-attr]


def test_parallel_tool_calls(openai_server: ScriptedOpenAIServer) -> None:
    openai_server.enqueue(Reply.parallel_tool_calls([("a", {"x": 1}), ("b", {"y": 2})]))
    with sdk(openai_server) as client:
        completion = client.chat.completions.create(model="m", messages=USER)
    calls = completion.choices[0].message.tool_calls
    assert calls is not None
    assert [(c.function.name, c.function.arguments) for c in calls] == [  # type: ignore[union-attr]
        ("a", '{"x":1}'),
        ("b", '{"y":2}'),
    ]
    assert len({c.id for c in calls}) == 2


def test_json_content_reply(openai_server: ScriptedOpenAIServer) -> None:
    openai_server.enqueue(Reply.json_content({"label": "supported", "confidence": 0.5}))
    openai_server.enqueue(Reply.json_content('{"label": '))
    with sdk(openai_server) as client:
        good = client.chat.completions.create(model="m", messages=USER)
        bad = client.chat.completions.create(model="m", messages=USER)
    assert json.loads(good.choices[0].message.content or "") == {
        "label": "supported",
        "confidence": 0.5,
    }
    assert bad.choices[0].message.content == '{"label": '


def test_stream_text_is_chunked_and_reassembles(openai_server: ScriptedOpenAIServer) -> None:
    text = "Aspirin reduces the risk of ischaemic stroke."
    openai_server.enqueue(Reply.text(text, prompt_tokens=9, completion_tokens=11))
    with sdk(openai_server) as client:
        chunks = list(
            client.chat.completions.create(
                model="m",
                messages=USER,
                stream=True,
                stream_options={"include_usage": True},
            )
        )

    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert len(pieces) == math.ceil(len(text) / 4)
    assert "".join(pieces) == text
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-2].choices[0].delta.content is None
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == []
    assert usage_chunk.usage is not None
    assert (usage_chunk.usage.prompt_tokens, usage_chunk.usage.completion_tokens) == (9, 11)
    assert all(c.usage is None for c in chunks[:-1])


def test_stream_without_include_usage_sends_no_usage_chunk(
    openai_server: ScriptedOpenAIServer,
) -> None:
    openai_server.enqueue(Reply.text("short"))
    with sdk(openai_server) as client:
        chunks = list(client.chat.completions.create(model="m", messages=USER, stream=True))
    assert all(len(c.choices) == 1 and c.usage is None for c in chunks)
    assert [c.choices[0].finish_reason for c in chunks] == [None, None, None, "stop"]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "short"


def test_stream_tool_call_deltas_match_openai(openai_server: ScriptedOpenAIServer) -> None:
    arguments = {"query": "aspirin stroke", "k": 5}
    openai_server.enqueue(Reply.tool_call("lookup", arguments, call_id="call_abc"))
    with sdk(openai_server) as client:
        chunks = list(client.chat.completions.create(model="m", messages=USER, stream=True))

    tool_deltas = [
        c.choices[0].delta.tool_calls[0] for c in chunks if c.choices[0].delta.tool_calls
    ]
    head, *rest = tool_deltas
    # First delta: index, id, type and name, with empty arguments (and the role).
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[0].choices[0].delta.tool_calls == [head]
    assert (head.index, head.id, head.type) == (0, "call_abc", "function")
    assert head.function is not None
    assert (head.function.name, head.function.arguments) == ("lookup", "")
    # Later deltas: index and an argument fragment only.
    assert len(rest) > 3
    assert all(d.index == 0 and d.id is None and d.type is None for d in rest)
    assert all(d.function is not None and d.function.name is None for d in rest)
    joined = "".join(d.function.arguments or "" for d in rest if d.function)
    assert json.loads(joined) == arguments
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_stream_helper_accumulates_parallel_tool_calls(
    openai_server: ScriptedOpenAIServer,
) -> None:
    openai_server.enqueue(
        Reply.parallel_tool_calls([("a", {"first": "value one"}), ("b", {"second": [1, 2, 3]})])
    )
    with (
        sdk(openai_server) as client,
        client.chat.completions.stream(model="m", messages=USER) as stream,
    ):
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert calls is not None
    assert [c.function.name for c in calls] == ["a", "b"]
    assert [json.loads(c.function.arguments) for c in calls] == [
        {"first": "value one"},
        {"second": [1, 2, 3]},
    ]
    assert final.choices[0].finish_reason == "tool_calls"


def test_429_raises_rate_limit_error_with_openai_error_body(
    openai_server: ScriptedOpenAIServer,
) -> None:
    openai_server.enqueue(Reply.error(429, "Slow down", headers={"Retry-After": "0"}))
    with sdk(openai_server) as client, pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="m", messages=USER)
    error = caught.value
    assert error.status_code == 429
    assert error.code == "rate_limit_exceeded"
    assert error.type == "requests"
    assert error.body == {
        "message": "Slow down",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    assert error.response.headers["retry-after"] == "0"
    assert openai_server.chat_requests == 1


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_raises_internal_server_error(openai_server: ScriptedOpenAIServer, status: int) -> None:
    openai_server.enqueue(Reply.error(status, "Upstream exploded"))
    with sdk(openai_server) as client, pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="m", messages=USER)
    assert caught.value.status_code == status
    assert caught.value.type == "server_error"
    assert "Upstream exploded" in caught.value.message


def test_hang_longer_than_the_timeout_raises_api_timeout_error(
    openai_server: ScriptedOpenAIServer,
) -> None:
    openai_server.enqueue(Reply.hang(10))
    started = time.monotonic()
    with sdk(openai_server, timeout=0.3) as client, pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="m", messages=USER)
    assert 0.25 < time.monotonic() - started < 2


def test_hang_shorter_than_the_timeout_drops_the_connection(
    openai_server: ScriptedOpenAIServer,
) -> None:
    openai_server.enqueue(Reply.hang(0.05))
    with (
        sdk(openai_server, timeout=2) as client,
        pytest.raises(openai.APIConnectionError) as caught,
    ):
        client.chat.completions.create(model="m", messages=USER)
    assert not isinstance(caught.value, openai.APITimeoutError)


def test_delay_adds_latency_and_can_trip_the_timeout(openai_server: ScriptedOpenAIServer) -> None:
    openai_server.enqueue(Reply.text("late", delay=0.2), Reply.text("too late", delay=5))
    with sdk(openai_server, timeout=1) as client:
        started = time.monotonic()
        completion = client.chat.completions.create(model="m", messages=USER)
        assert time.monotonic() - started >= 0.2
        assert completion.choices[0].message.content == "late"
        with pytest.raises(openai.APITimeoutError):
            client.chat.completions.create(model="m", messages=USER, timeout=0.2)


def test_malformed_json_body_is_not_wrapped_by_the_sdk(
    openai_server: ScriptedOpenAIServer,
) -> None:
    """A 200 with truncated JSON surfaces as a bare json.JSONDecodeError, not an OpenAIError."""
    openai_server.enqueue(Reply.raw(200, b'{"id": "chatcmpl-1", "choi'))
    with sdk(openai_server) as client, pytest.raises(json.JSONDecodeError):
        client.chat.completions.create(model="m", messages=USER)


def test_malformed_body_handling_depends_on_strict_validation(
    openai_server: ScriptedOpenAIServer,
) -> None:
    openai_server.enqueue(
        Reply.raw(200, "<html>gateway</html>", "text/html"),
        Reply.raw(200, b"{}"),
        Reply.raw(200, b"{}"),
        Reply.raw(502, "<html>bad gateway</html>", "text/html"),
    )
    with sdk(openai_server) as client:
        # Without strict validation the SDK returns the text, or an unvalidated model.
        html = client.chat.completions.create(model="m", messages=USER)
        assert html == "<html>gateway</html>"  # type: ignore[comparison-overlap]
        empty = client.chat.completions.create(model="m", messages=USER)
        assert empty.choices is None
    with (
        sdk(openai_server, _strict_response_validation=True) as strict,
        pytest.raises(openai.APIResponseValidationError),
    ):
        strict.chat.completions.create(model="m", messages=USER)
    with sdk(openai_server) as client, pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="m", messages=USER)
    assert caught.value.status_code == 502
    assert caught.value.body == "<html>bad gateway</html>"


def test_stalled_stream_yields_the_prefix_then_times_out(
    openai_server: ScriptedOpenAIServer,
) -> None:
    openai_server.enqueue(Reply.stream_stall("Partial answer", 10))
    received: list[str] = []
    started = time.monotonic()
    with sdk(openai_server, timeout=0.3) as client, pytest.raises(openai.APITimeoutError):
        for chunk in client.chat.completions.create(model="m", messages=USER, stream=True):
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) == "Partial answer"
    assert time.monotonic() - started < 2


def test_stalled_stream_can_be_abandoned_by_the_client(
    openai_server: ScriptedOpenAIServer,
) -> None:
    openai_server.enqueue(Reply.stream_stall("Partial answer", 10))
    with sdk(openai_server, timeout=5) as client:
        stream = client.chat.completions.create(model="m", messages=USER, stream=True)
        first = next(iter(stream))
        stream.close()
    assert first.choices[0].delta.role == "assistant"


def test_stall_then_abort_or_finish(openai_server: ScriptedOpenAIServer) -> None:
    openai_server.enqueue(
        Reply.stream_stall("Half ", 0.05),
        Reply.stream_stall("Half ", 0.05, then="finish", rest_text="and the rest."),
    )
    received: list[str] = []
    with sdk(openai_server, timeout=2) as client:
        with pytest.raises(openai.APIConnectionError) as caught:
            for chunk in client.chat.completions.create(model="m", messages=USER, stream=True):
                received.append(chunk.choices[0].delta.content or "")
        assert not isinstance(caught.value, openai.APITimeoutError)
        assert "".join(received) == "Half "
        chunks = list(client.chat.completions.create(model="m", messages=USER, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Half and the rest."
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_empty_script_is_a_500_unless_a_default_is_set(
    openai_server: ScriptedOpenAIServer,
) -> None:
    with sdk(openai_server) as client:
        with pytest.raises(openai.InternalServerError) as caught:
            client.chat.completions.create(model="m", messages=USER)
        assert "script exhausted" in caught.value.message
        openai_server.default = Reply.text("fallback")
        answers = [
            client.chat.completions.create(model="m", messages=USER).choices[0].message.content
            for _ in range(2)
        ]
    assert answers == ["fallback", "fallback"]
    assert openai_server.chat_requests == 3


def test_sdk_retries_429_until_success(openai_server: ScriptedOpenAIServer) -> None:
    openai_server.enqueue(Reply.rate_limited(), Reply.rate_limited(), Reply.text("third time"))
    with sdk(openai_server, max_retries=2) as client:
        completion = client.chat.completions.create(model="m", messages=USER)
    assert completion.choices[0].message.content == "third time"
    assert openai_server.chat_requests == 3
    retry_counts = [r.headers["x-stainless-retry-count"] for r in openai_server.requests]
    assert retry_counts == ["0", "1", "2"]


def test_embeddings_are_deterministic_in_both_encodings(
    openai_server: ScriptedOpenAIServer,
) -> None:
    with sdk(openai_server) as client:
        default = client.embeddings.create(model="emb", input=["alpha", "beta"])
        floats = client.embeddings.create(model="emb", input="alpha", encoding_format="float")
        wide = client.embeddings.create(model="emb", input="alpha", dimensions=16)

    # The SDK asks for base64 unless told otherwise and decodes it back to floats.
    assert openai_server.requests[0].body["encoding_format"] == "base64"
    alpha, beta = (d.embedding for d in default.data)
    assert alpha == openai_server.embedding_for("alpha")
    assert beta == openai_server.embedding_for("beta")
    assert alpha != beta
    assert len(alpha) == 8
    assert math.isclose(sum(v * v for v in alpha), 1.0, rel_tol=1e-5)
    assert floats.data[0].embedding == alpha
    assert len(wide.data[0].embedding) == 16
    assert default.model == "emb"
    assert default.usage.prompt_tokens == 3  # ceil(5 / 4) + ceil(4 / 4)


def test_embeddings_failures_can_be_scripted(openai_server: ScriptedOpenAIServer) -> None:
    openai_server.enqueue_embeddings(Reply.error(503, "Embedding backend down"))
    with sdk(openai_server) as client:
        with pytest.raises(openai.InternalServerError):
            client.embeddings.create(model="emb", input="alpha")
        ok = client.embeddings.create(model="emb", input="alpha")
    assert ok.data[0].embedding == openai_server.embedding_for("alpha")
    with pytest.raises(ValueError, match="embeddings script"):
        openai_server.enqueue_embeddings(Reply.text("not a failure"))


def test_models_endpoint(openai_server: ScriptedOpenAIServer) -> None:
    with sdk(openai_server) as client:
        listed = [m.id for m in client.models.list()]
        model = client.models.retrieve("test-model")
        with pytest.raises(openai.NotFoundError):
            client.models.retrieve("missing-model")
    assert listed == ["test-model"]
    assert model.owned_by == "evidence-press"


def test_unknown_paths_and_bad_requests(openai_server: ScriptedOpenAIServer) -> None:
    openai_server.enqueue(Reply.text("kept for later"))
    status, body = raw_http(openai_server, "POST", "/v1/nope", b"{}", AUTH)
    assert (status, body["error"]["message"]) == (404, "Invalid URL (POST /v1/nope)")
    status, body = raw_http(openai_server, "GET", "/v1/chat/completions", headers=AUTH)
    assert status == 404
    status, body = raw_http(openai_server, "POST", "/v1/chat/completions", b"{not json", AUTH)
    assert (status, body["error"]["type"]) == (400, "invalid_request_error")
    status, body = raw_http(
        openai_server, "POST", "/v1/chat/completions", b'{"model": "m", "messages": []}', AUTH
    )
    assert status == 400
    status, body = raw_http(
        openai_server,
        "POST",
        "/v1/chat/completions",
        json.dumps({"model": "m", "messages": USER}).encode(),
        {"Content-Type": "application/json"},
    )
    assert (status, body["error"]["code"]) == (401, "missing_api_key")
    # Rejected requests are recorded (POSTs to the chat path counted) but consume no script.
    assert openai_server.pending == 1
    assert openai_server.chat_requests == 3
    assert len(openai_server.requests) == 5


def test_auth_can_be_disabled(make_openai_server: Any) -> None:
    server = make_openai_server(require_auth=False, embedding_dim=3)
    status, body = raw_http(server, "POST", "/v1/embeddings", b'{"model": "e", "input": "x"}', {})
    assert status == 200
    assert body["data"][0]["embedding"] == server.embedding_for("x")
    assert len(body["data"][0]["embedding"]) == 3


def test_stop_is_prompt_while_a_handler_hangs() -> None:
    server = ScriptedOpenAIServer([Reply.hang(30)]).start()
    outcome: list[BaseException | int] = []

    def call() -> None:
        try:
            raw_http(
                server,
                "POST",
                "/v1/chat/completions",
                json.dumps({"model": "m", "messages": USER}).encode(),
                AUTH,
            )
            outcome.append(200)
        except BaseException as exc:
            outcome.append(exc)

    client = threading.Thread(target=call)
    client.start()
    assert server.wait_for_requests(1, timeout=5)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1
    client.join(2)
    assert not client.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], http.client.RemoteDisconnected)


def test_concurrent_requests_are_all_recorded(openai_server: ScriptedOpenAIServer) -> None:
    openai_server.default = Reply.text("same answer", delay=0.05)
    ids: list[str] = []
    lock = threading.Lock()
    with sdk(openai_server) as client:

        def call() -> None:
            completion = client.chat.completions.create(model="m", messages=USER)
            with lock:
                ids.append(completion.id)

        threads = [threading.Thread(target=call) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(5)
    assert len(set(ids)) == 8
    assert openai_server.chat_requests == 8
    assert len(openai_server.chat_bodies) == 8


# --------------------------------------------------------------------------- langchain_openai


def test_chat_openai_invoke_text(openai_server: ScriptedOpenAIServer) -> None:
    openai_server.enqueue(Reply.text("Hello from the server", prompt_tokens=4, completion_tokens=6))
    message = chat_model(openai_server).invoke("hello")
    assert message.content == "Hello from the server"
    assert message.usage_metadata is not None
    assert message.usage_metadata["input_tokens"] == 4
    assert message.usage_metadata["output_tokens"] == 6
    assert message.response_metadata["model_name"] == "test-model"
    assert message.response_metadata["finish_reason"] == "stop"
    [body] = openai_server.chat_bodies
    assert body["model"] == "test-model"
    assert body["messages"] == [{"role": "user", "content": "hello"}]
    assert body["stream"] is False


def test_structured_output_function_calling_parses_a_tool_call(
    openai_server: ScriptedOpenAIServer,
) -> None:
    openai_server.enqueue(Reply.tool_call("Verdict", {"label": "supported", "confidence": 0.9}))
    structured = chat_model(openai_server).with_structured_output(
        Verdict, method="function_calling", include_raw=True
    )
    result: Any = structured.invoke("Is the claim supported?")
    assert result["parsed"] == Verdict(label="supported", confidence=0.9)
    assert result["parsing_error"] is None
    assert result["raw"].tool_calls[0]["name"] == "Verdict"
    [body] = openai_server.chat_bodies
    assert body["tool_choice"] == {"type": "function", "function": {"name": "Verdict"}}
    assert body["parallel_tool_calls"] is False
    assert body["tools"][0]["function"]["name"] == "Verdict"
    assert body["tools"][0]["function"]["parameters"]["required"] == ["label", "confidence"]


def test_structured_output_schema_violation_is_a_parsing_error(
    openai_server: ScriptedOpenAIServer,
) -> None:
    openai_server.enqueue(Reply.tool_call("Verdict", {"label": "supported", "confidence": "high"}))
    structured = chat_model(openai_server).with_structured_output(
        Verdict, method="function_calling", include_raw=True
    )
    result: Any = structured.invoke("Is the claim supported?")
    assert result["parsed"] is None
    assert isinstance(result["parsing_error"], ValidationError)
    assert result["parsing_error"].errors()[0]["loc"] == ("confidence",)


def test_structured_output_malformed_arguments_are_silently_none(
    openai_server: ScriptedOpenAIServer,
) -> None:
    """Invalid JSON arguments become an invalid_tool_call: parsed AND parsing_error are None."""
    openai_server.enqueue(Reply.tool_call("Verdict", '{"label": "supp'))
    structured = chat_model(openai_server).with_structured_output(
        Verdict, method="function_calling", include_raw=True
    )
    result: Any = structured.invoke("Is the claim supported?")
    assert result["parsed"] is None
    assert result["parsing_error"] is None
    assert result["raw"].tool_calls == []
    assert result["raw"].invalid_tool_calls[0]["args"] == '{"label": "supp'


def test_structured_output_json_schema_uses_json_content(
    openai_server: ScriptedOpenAIServer,
) -> None:
    openai_server.enqueue(Reply.json_content({"label": "refuted", "confidence": 0.25}))
    parsed = chat_model(openai_server).with_structured_output(Verdict).invoke("claim?")
    assert parsed == Verdict(label="refuted", confidence=0.25)
    [body] = openai_server.chat_bodies
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["name"] == "Verdict"
    assert body["response_format"]["json_schema"]["strict"] is True


def test_chat_openai_retries_through_the_sdk(openai_server: ScriptedOpenAIServer) -> None:
    openai_server.enqueue(Reply.rate_limited(), Reply.rate_limited(), Reply.text("finally"))
    message = chat_model(openai_server, max_retries=2).invoke("hello")
    assert message.content == "finally"
    assert openai_server.chat_requests == 3


def test_retry_after_zero_still_backs_off(openai_server: ScriptedOpenAIServer) -> None:
    """The SDK ignores ``Retry-After: 0`` and sleeps its own backoff (0.375-0.5 s first)."""
    openai_server.enqueue(Reply.error(429, headers={"Retry-After": "0"}), Reply.text("ok"))
    started = time.monotonic()
    message = chat_model(openai_server, max_retries=1).invoke("hello")
    assert message.content == "ok"
    assert time.monotonic() - started >= 0.35


def test_chat_openai_error_classes(openai_server: ScriptedOpenAIServer) -> None:
    openai_server.enqueue(Reply.error(429), Reply.error(500), Reply.hang(10))
    llm = chat_model(openai_server, timeout=0.3)
    with pytest.raises(openai.RateLimitError):
        llm.invoke("a")
    with pytest.raises(openai.InternalServerError):
        llm.invoke("b")
    with pytest.raises(openai.APITimeoutError) as caught:
        llm.invoke("c")
    assert type(caught.value).__module__ == "langchain_openai.chat_models.base"


def test_chat_openai_retries_a_hang(openai_server: ScriptedOpenAIServer) -> None:
    openai_server.enqueue(Reply.hang(10), Reply.text("after the hang"))
    message = chat_model(openai_server, timeout=0.3, max_retries=1).invoke("hello")
    assert message.content == "after the hang"
    assert openai_server.chat_requests == 2


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply.raw(200, b"{}"), TypeError),
        (Reply.raw(200, "<html>gateway</html>", "text/html"), ValueError),
        (Reply.raw(200, b'{"id": "chatcmpl-1", "cho'), json.JSONDecodeError),
    ],
)
def test_chat_openai_unusable_bodies_raise_non_openai_errors(
    openai_server: ScriptedOpenAIServer, reply: Reply, error: type[Exception]
) -> None:
    openai_server.enqueue(reply)
    with pytest.raises(error) as caught:
        chat_model(openai_server).invoke("hello")
    assert not isinstance(caught.value, openai.OpenAIError)


async def merged_stream(llm: Any, prompt: str) -> AIMessageChunk:
    """Stream ``prompt`` through ``llm`` and add the chunks up, as pipeline.draft.chain does."""
    merged: Any = None
    async for chunk in llm.astream(prompt):
        merged = chunk if merged is None else merged + chunk
    return merged  # type: ignore[no-any-return]


def run_async(scenario: Callable[[httpx.AsyncClient], Awaitable[T]]) -> T:
    """Run ``scenario`` in a fresh event loop with an httpx client closed inside that loop.

    Without ``http_async_client`` ChatOpenAI shares one cached async httpx client per
    (base_url, timeout) across event loops: a second ``asyncio.run`` then reuses a pooled
    connection of the closed loop and fails with ``RuntimeError: Event loop is closed``, and
    the dead loop's transports are reported as unclosed (an error under filterwarnings=error).
    """

    async def main() -> T:
        async with httpx.AsyncClient() as http:
            return await scenario(http)

    return asyncio.run(main())


def test_chat_openai_async_stream_tool_call_and_usage(
    openai_server: ScriptedOpenAIServer,
) -> None:
    arguments = {"label": "unclear", "confidence": 0.4}
    openai_server.enqueue(
        Reply.tool_call("Verdict", arguments, prompt_tokens=20, completion_tokens=7),
        Reply.text("no usage asked"),
    )

    async def scenario(http: httpx.AsyncClient) -> tuple[AIMessageChunk, AIMessageChunk]:
        with_usage = chat_model(
            openai_server, stream_usage=True, http_async_client=http
        ).bind_tools([Verdict], tool_choice="Verdict")
        plain = chat_model(openai_server, http_async_client=http)
        return await merged_stream(with_usage, "claim?"), await merged_stream(plain, "claim?")

    merged, plain = run_async(scenario)
    assert merged.tool_calls[0]["args"] == arguments
    assert merged.tool_calls[0]["id"] == "call_000001_0"
    assert merged.usage_metadata is not None
    usage = merged.usage_metadata
    assert (usage["input_tokens"], usage["output_tokens"]) == (20, 7)
    assert openai_server.chat_bodies[0]["stream_options"] == {"include_usage": True}
    assert openai_server.chat_bodies[0]["stream"] is True

    # With a custom base_url ChatOpenAI does not ask for stream usage unless told to.
    assert plain.content == "no usage asked"
    assert plain.usage_metadata is None
    assert "stream_options" not in openai_server.chat_bodies[1]


def test_chat_openai_async_stall_times_out_after_the_prefix(
    openai_server: ScriptedOpenAIServer,
) -> None:
    openai_server.enqueue(Reply.stream_stall("Partial ", 10))
    received: list[str] = []

    async def scenario(http: httpx.AsyncClient) -> None:
        llm = chat_model(openai_server, timeout=0.3, http_async_client=http)
        async for chunk in llm.astream("claim?"):
            received.append(str(chunk.content))

    with pytest.raises(openai.APITimeoutError):
        run_async(scenario)
    assert "".join(received) == "Partial "


def test_openai_embeddings_class(openai_server: ScriptedOpenAIServer) -> None:
    embeddings = OpenAIEmbeddings(  # type: ignore[call-arg]  # aliases: base_url, api_key, timeout
        model="text-embedding-3-small",
        base_url=openai_server.base_url,
        api_key="test",
        timeout=2,
        max_retries=0,
        check_embedding_ctx_length=False,
    )
    vectors = embeddings.embed_documents(["alpha", "beta"])
    assert vectors == [openai_server.embedding_for("alpha"), openai_server.embedding_for("beta")]
    assert embeddings.embed_query("alpha") == openai_server.embedding_for("alpha")
    assert openai_server.requests[0].body["input"] == ["alpha", "beta"]
