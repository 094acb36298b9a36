"""A scripted, OpenAI-compatible HTTP server for tests.

Why a real server
-----------------
The project talks to its LLM through ``langchain_openai.ChatOpenAI`` and the ``openai`` SDK.
Mocking those clients would hide exactly the behaviour the tests need to pin down: retries,
timeouts, SSE parsing, tool-call reassembly, error classes.  Instead the tests point the real
clients at :class:`ScriptedOpenAIServer`, a genuine HTTP/1.1 server on ``127.0.0.1`` that speaks
the wire format of the OpenAI API.

Design
------
* Transport: stdlib :class:`http.server.ThreadingHTTPServer` serving from a daemon thread on a
  free port (``base_url`` is ``http://127.0.0.1:PORT/v1``).  Responses use HTTP/1.1 keep-alive
  with ``Content-Length``; streams use ``Transfer-Encoding: chunked`` server-sent events, as the
  real API does.
* Script: chat requests consume :class:`Reply` objects from a FIFO queue, one per request.  When
  the queue is empty the server uses ``default`` if set, otherwise it answers 500 with a JSON
  error saying ``script exhausted`` so a missing script entry fails loudly.  Requests the real API
  would reject (bad JSON, no ``model``, no ``messages``, no bearer token) get a 400/401 and do
  *not* consume a script entry.
* Replies are immutable values built with classmethods (:meth:`Reply.text`,
  :meth:`Reply.tool_call`, :meth:`Reply.error`, :meth:`Reply.hang`, ...).  The same reply is
  rendered as one JSON ``chat.completion`` or, when the request has ``"stream": true``, as a
  series of ``chat.completion.chunk`` events ending in ``data: [DONE]`` (plus a usage chunk when
  ``stream_options.include_usage`` is true).
* Failure modes: ``hang`` and ``stream_stall`` block on a :class:`threading.Event` that
  :meth:`ScriptedOpenAIServer.stop` sets, and ``stop`` also shuts down every open client socket,
  so stopping never waits for a scripted hang to run out.
* Embeddings are deterministic: a vector derived from SHA-256 of the input, L2-normalised and
  rounded to float32 so ``encoding_format="float"`` and ``"base64"`` (the SDK's default) agree.
  :meth:`ScriptedOpenAIServer.embedding_for` returns the vector a test should expect.
* Every request (chat, embeddings, models, unknown paths) is recorded as a
  :class:`RecordedRequest`; all shared state is guarded by one lock.

Example::

    with ScriptedOpenAIServer() as server:
        server.enqueue(Reply.rate_limited(), Reply.text("Aspirin reduces risk."))
        client = OpenAI(base_url=server.base_url, api_key="test", max_retries=1)
        ...
        assert server.chat_requests == 2
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import math
import socket
import socketserver
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Self

__all__ = [
    "RecordedRequest",
    "Reply",
    "ReplyKind",
    "ScriptedOpenAIServer",
    "ToolCall",
]

log = logging.getLogger(__name__)

ReplyKind = Literal["completion", "error", "hang", "raw", "stream_stall"]
"""What a :class:`Reply` does: a normal completion, an HTTP error, a hang, a raw body, a stall."""

_SYSTEM_FINGERPRINT = "fp_evidence_press_test"
_DEFAULT_ERROR_TYPES: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    408: ("timeout", None),
    409: ("conflict", None),
    422: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
}


def _compact_json(value: Any) -> str:
    """Encode ``value`` the way the OpenAI API does: compact separators, UTF-8 kept as is."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _estimate_tokens(text: str) -> int:
    """A deterministic, tokenizer-free token estimate: one token per four characters, min 1."""
    return max(1, math.ceil(len(text) / 4))


def _split(text: str, size: int) -> list[str]:
    """Split ``text`` into pieces of at most ``size`` characters (no pieces for empty text)."""
    return [text[i : i + size] for i in range(0, len(text), size)]


@dataclass(frozen=True)
class ToolCall:
    """One function tool call in a scripted reply.

    ``arguments`` is the exact string sent to the client, so it may be deliberately malformed.
    ``id`` defaults to a deterministic ``call_<request>_<index>`` chosen by the server.
    """

    name: str
    arguments: str
    id: str | None = None


@dataclass(frozen=True)
class Reply:
    """One scripted answer to one chat request; build it with the classmethods, not directly.

    Attributes mirror the builders' parameters.  ``delay`` (seconds) is waited before anything
    is sent, to simulate latency; it is cut short when the server stops.
    """

    kind: ReplyKind
    content: str | None = None
    refusal: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str = "stop"
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    status: int = 200
    error_body: Mapping[str, Any] | None = None
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0
    rest_text: str = ""
    then: Literal["abort", "finish"] = "abort"
    delay: float = 0.0

    # ----------------------------------------------------------------- completions
    @classmethod
    def text(
        cls,
        content: str,
        *,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        finish_reason: str = "stop",
        delay: float = 0.0,
    ) -> Reply:
        """An assistant message whose ``content`` is ``content``.

        Token counts default to an estimate (prompt: the request's message text; completion:
        ``content``), at four characters per token.  ``finish_reason="length"`` simulates a
        truncated answer.
        """
        return cls(
            kind="completion",
            content=content,
            finish_reason=finish_reason,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            delay=delay,
        )

    @classmethod
    def json_content(
        cls,
        value: Any,
        *,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        finish_reason: str = "stop",
        delay: float = 0.0,
    ) -> Reply:
        """An assistant message whose content is JSON (``response_format`` style output).

        A ``str`` is sent verbatim (use it for malformed or schema-violating JSON); any other
        value is JSON-encoded compactly.
        """
        content = value if isinstance(value, str) else _compact_json(value)
        return cls.text(
            content,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            finish_reason=finish_reason,
            delay=delay,
        )

    @classmethod
    def tool_call(
        cls,
        name: str,
        arguments: Mapping[str, Any] | str,
        *,
        call_id: str | None = None,
        content: str | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        delay: float = 0.0,
    ) -> Reply:
        """A single function tool call, ``finish_reason="tool_calls"``.

        ``arguments`` is a mapping (JSON-encoded compactly) or a raw string sent verbatim, so a
        test can send malformed JSON.  ``content`` optionally accompanies the call.
        """
        return cls.parallel_tool_calls(
            [(name, arguments)],
            call_ids=None if call_id is None else [call_id],
            content=content,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            delay=delay,
        )

    @classmethod
    def parallel_tool_calls(
        cls,
        calls: Sequence[tuple[str, Mapping[str, Any] | str]],
        *,
        call_ids: Sequence[str] | None = None,
        content: str | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        delay: float = 0.0,
    ) -> Reply:
        """Several parallel tool calls, given as ``(name, arguments)`` pairs, in one message."""
        if not calls:
            raise ValueError("parallel_tool_calls needs at least one (name, arguments) pair")
        if call_ids is not None and len(call_ids) != len(calls):
            raise ValueError("call_ids must have one id per call")
        built = tuple(
            ToolCall(
                name=name,
                arguments=args if isinstance(args, str) else _compact_json(dict(args)),
                id=None if call_ids is None else call_ids[i],
            )
            for i, (name, args) in enumerate(calls)
        )
        return cls(
            kind="completion",
            content=content,
            tool_calls=built,
            finish_reason="tool_calls",
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            delay=delay,
        )

    @classmethod
    def refusal_message(
        cls, refusal: str, *, prompt_tokens: int | None = None, delay: float = 0.0
    ) -> Reply:
        """A structured-output refusal: ``message.refusal`` set, ``content`` null."""
        return cls(
            kind="completion",
            refusal=refusal,
            prompt_tokens=prompt_tokens,
            delay=delay,
        )

    # ----------------------------------------------------------------- failures
    @classmethod
    def error(
        cls,
        status: int,
        message: str | None = None,
        *,
        type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
    ) -> Reply:
        """An HTTP error with OpenAI's body ``{"error": {"message", "type", "param", "code"}}``.

        ``type``/``code`` default to what the real API sends for ``status`` (429:
        ``requests``/``rate_limit_exceeded``; 5xx: ``server_error``).  ``headers`` are added
        to the response, e.g. ``{"Retry-After": "0"}`` or ``{"x-should-retry": "false"}``.
        """
        default_type, default_code = _DEFAULT_ERROR_TYPES.get(
            status, ("server_error", None) if status >= 500 else ("invalid_request_error", None)
        )
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        body = {
            "error": {
                "message": message if message is not None else f"Scripted error: {status} {phrase}",
                "type": type if type is not None else default_type,
                "param": param,
                "code": code if code is not None else default_code,
            }
        }
        return cls(
            kind="error",
            status=status,
            error_body=body,
            headers=tuple((headers or {}).items()),
            delay=delay,
        )

    @classmethod
    def rate_limited(
        cls, message: str = "Rate limit reached (scripted)", *, retry_after_ms: int = 1
    ) -> Reply:
        """A 429 that tells the SDK to retry after ``retry_after_ms`` milliseconds.

        The openai SDK ignores ``Retry-After`` values <= 0 and then backs off 0.5 s, 1 s, ...;
        ``retry-after-ms`` (which it prefers) keeps retry tests fast.
        """
        return cls.error(
            429,
            message,
            headers={
                "retry-after-ms": str(retry_after_ms),
                "retry-after": str(math.ceil(retry_after_ms / 1000)),
            },
        )

    @classmethod
    def hang(cls, seconds: float) -> Reply:
        """Accept the request, send nothing for ``seconds`` (or until stop), then close.

        The connection is closed without any response, so a client whose read timeout is
        shorter sees a timeout, and one that waits longer sees a dropped connection.
        """
        return cls(kind="hang", seconds=seconds)

    @classmethod
    def raw(
        cls,
        status: int,
        body: bytes | str,
        content_type: str = "application/json",
        *,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
    ) -> Reply:
        """An arbitrary body (e.g. truncated JSON) with ``status`` and ``content_type``."""
        return cls(
            kind="raw",
            status=status,
            body=body.encode() if isinstance(body, str) else body,
            content_type=content_type,
            headers=tuple((headers or {}).items()),
            delay=delay,
        )

    @classmethod
    def stream_stall(
        cls,
        prefix_text: str,
        stall_seconds: float,
        *,
        then: Literal["abort", "finish"] = "abort",
        rest_text: str = "",
        delay: float = 0.0,
    ) -> Reply:
        """Stream ``prefix_text``, then send nothing for ``stall_seconds`` (or until stop).

        After the stall, ``then="abort"`` drops the connection mid-body (no final chunk, no
        ``[DONE]``); ``then="finish"`` streams ``rest_text`` and ends the stream normally.
        For a non-streaming request this behaves like :meth:`hang`.
        """
        return cls(
            kind="stream_stall",
            content=prefix_text,
            seconds=stall_seconds,
            then=then,
            rest_text=rest_text,
            delay=delay,
        )


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it.

    ``headers`` has lower-cased names; ``body`` is the parsed JSON body (``None`` when the body
    is empty or not JSON) and ``raw`` the bytes; ``reply`` is the script entry that answered it
    (``None`` for non-chat requests, rejected requests and the script-exhausted error).
    """

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes
    reply: Reply | None = None
    timestamp: float = field(default_factory=time.monotonic)


class _HTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its owner, skips reverse DNS and stays quiet on errors."""

    daemon_threads = True
    request_queue_size = 64
    owner: ScriptedOpenAIServer

    def server_bind(self) -> None:
        """Bind without ``HTTPServer.server_bind``'s ``getfqdn`` lookup (slow with no DNS)."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log handler exceptions instead of printing them.

        A bug in the server is logged as an error; a dropped connection or a stop() at debug.
        """
        error = sys.exc_info()[1]
        if isinstance(error, OSError) or self.owner._stopping.is_set():
            log.debug("scripted OpenAI server: connection %s ended", client_address, exc_info=True)
        else:
            log.error("scripted OpenAI server: error handling %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    """Routes one HTTP connection's requests to the owning :class:`ScriptedOpenAIServer`."""

    protocol_version = "HTTP/1.1"
    server_version = "ScriptedOpenAI/1.0"
    sys_version = ""
    server: _HTTPServer

    # -- connection bookkeeping -------------------------------------------------------
    def setup(self) -> None:
        """Register the connection so that stop() can shut it down."""
        super().setup()
        self.server.owner._register(self.connection)

    def finish(self) -> None:
        """Unregister the connection; tolerate a client that already went away."""
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.owner._unregister(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Send the access log to :mod:`logging` (debug) rather than stderr."""
        log.debug("scripted OpenAI server: " + format, *args)

    # -- dispatch ---------------------------------------------------------------------
    def do_GET(self) -> None:
        """Handle GET."""
        self._dispatch()

    def do_POST(self) -> None:
        """Handle POST."""
        self._dispatch()

    def do_PUT(self) -> None:
        """Handle PUT (always 404)."""
        self._dispatch()

    def do_DELETE(self) -> None:
        """Handle DELETE (always 404)."""
        self._dispatch()

    def do_PATCH(self) -> None:
        """Handle PATCH (always 404)."""
        self._dispatch()

    def _dispatch(self) -> None:
        try:
            self.server.owner._handle(self)
        except OSError:
            # The client hung up (timeout, cancelled stream) or stop() shut the socket down.
            self.close_connection = True

    # -- low-level writers used by the owner --------------------------------------------
    def read_body(self) -> bytes:
        """Read the request body announced by ``Content-Length`` (empty if none)."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send_bytes(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Send a complete response with ``Content-Length``."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-request-id", f"req_{time.monotonic_ns():x}")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def send_json(self, status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> None:
        """Send ``payload`` as a JSON response."""
        self.send_bytes(status, _compact_json(payload).encode(), "application/json", headers)

    def start_sse(self) -> None:
        """Send the headers of a chunked ``text/event-stream`` response."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("x-request-id", f"req_{time.monotonic_ns():x}")
        self.end_headers()
        self.wfile.flush()

    def send_event(self, data: str) -> None:
        """Send one SSE ``data:`` event as one HTTP chunk."""
        payload = f"data: {data}\n\n".encode()
        self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
        self.wfile.flush()

    def end_chunked(self) -> None:
        """Send the terminating zero-length chunk."""
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class ScriptedOpenAIServer:
    """An OpenAI-compatible HTTP server on 127.0.0.1 that answers chat requests from a script.

    Use as a context manager or call :meth:`start` / :meth:`stop`.  Script chat replies with
    :meth:`enqueue` (FIFO, one per chat request) and optionally a fallback :attr:`default`.
    Inspect traffic with :attr:`requests`, :attr:`chat_requests` and :attr:`chat_bodies`.

    Args:
        script: initial chat replies.
        default: reply used whenever the script is empty (``None``: 500 "script exhausted").
        embedding_dim: vector length when the request has no ``dimensions``.
        models: ids listed by ``GET /v1/models``.
        stream_chunk_chars: characters of content / tool arguments per streamed chunk.
        require_auth: answer 401 (like the real API) when ``Authorization: Bearer ...`` is
            missing.

    Behaviours of other OpenAI-compatible servers (set as attributes):
        rejected_parameters: ``{name: message}``; a chat request carrying that parameter gets
            a 400 with ``message`` and consumes no script entry. ``"tool_choice:object"``
            rejects only the object form of ``tool_choice`` (llama.cpp: "Wrong type supplied
            for parameter 'tool_choice'").
        report_usage: ``False`` sends no usage in streams even when asked (llama.cpp).
    """

    def __init__(
        self,
        script: Iterable[Reply] = (),
        *,
        default: Reply | None = None,
        embedding_dim: int = 8,
        models: Sequence[str] = ("test-model",),
        stream_chunk_chars: int = 4,
        require_auth: bool = True,
    ) -> None:
        if embedding_dim < 1 or stream_chunk_chars < 1:
            raise ValueError("embedding_dim and stream_chunk_chars must be positive")
        self.embedding_dim = embedding_dim
        self.models = tuple(models)
        self.stream_chunk_chars = stream_chunk_chars
        self.require_auth = require_auth
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._script: deque[Reply] = deque(script)
        self._embedding_script: deque[Reply] = deque()
        self._default = default
        self._requests: list[RecordedRequest] = []
        self._chat_count = 0
        self._completion_seq = 0
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._handler_threads: set[threading.Thread] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False
        self.rejected_parameters: dict[str, str] = {}
        self.report_usage = True

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> Self:
        """Bind a free port on 127.0.0.1 and start serving in a daemon thread."""
        if self._stopped:
            raise RuntimeError("a stopped ScriptedOpenAIServer cannot be restarted")
        if self._httpd is not None:
            return self
        httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"scripted-openai-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop serving; wake hanging handlers and shut every open connection down.

        Idempotent.  Waits at most about ``timeout`` seconds for handler threads to exit.
        """
        if self._httpd is None or self._stopped:
            self._stopped = True
            return
        self._stopped = True
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            connections = list(self._connections)
            threads = list(self._handler_threads)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for thread in [*threads, self._thread]:
            if thread is not None and thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> Self:
        """Start the server."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self.stop()

    @property
    def port(self) -> int:
        """The bound TCP port (the server must be started)."""
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``: pass it as ``base_url`` to OpenAI / ChatOpenAI."""
        return f"http://127.0.0.1:{self.port}/v1"

    # ----------------------------------------------------------------- scripting
    def enqueue(self, *replies: Reply) -> Self:
        """Append chat replies to the script (consumed FIFO, one per chat request)."""
        with self._lock:
            self._script.extend(replies)
        return self

    def enqueue_embeddings(self, *replies: Reply) -> Self:
        """Append failures (error / raw / hang replies) for the next embeddings requests.

        While this queue is empty, embeddings requests get normal deterministic vectors.
        """
        for reply in replies:
            if reply.kind not in ("error", "raw", "hang"):
                raise ValueError(f"embeddings script takes error/raw/hang, not {reply.kind}")
        with self._lock:
            self._embedding_script.extend(replies)
        return self

    @property
    def default(self) -> Reply | None:
        """Reply used when the chat script is empty (``None``: 500 "script exhausted")."""
        with self._lock:
            return self._default

    @default.setter
    def default(self, reply: Reply | None) -> None:
        with self._lock:
            self._default = reply

    @property
    def pending(self) -> int:
        """How many scripted chat replies have not been consumed yet."""
        with self._lock:
            return len(self._script)

    # ----------------------------------------------------------------- inspection
    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> int:
        """How many ``POST /v1/chat/completions`` requests arrived (including rejected ones)."""
        with self._lock:
            return self._chat_count

    @property
    def chat_bodies(self) -> list[Any]:
        """The parsed JSON bodies of the chat requests, in arrival order."""
        with self._lock:
            return [r.body for r in self._requests if r.path == "/v1/chat/completions"]

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> bool:
        """Block until at least ``count`` requests have arrived; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._requests) >= count, timeout)

    def embedding_for(
        self, item: str | Sequence[int], dimensions: int | None = None
    ) -> list[float]:
        """The deterministic embedding this server returns for ``item`` (text or token ids).

        SHA-256 of the input seeds the values, which are L2-normalised and rounded to float32.
        """
        dim = dimensions or self.embedding_dim
        key = (item if isinstance(item, str) else _compact_json(list(item))).encode()
        raw = b""
        counter = 0
        while len(raw) < 4 * dim:
            raw += hashlib.sha256(counter.to_bytes(4, "big") + key).digest()
            counter += 1
        ints = struct.unpack(f">{dim}I", raw[: 4 * dim])
        values = [(v / 0xFFFFFFFF) * 2.0 - 1.0 for v in ints]
        norm = math.sqrt(sum(v * v for v in values)) or 1.0
        packed = struct.pack(f"<{dim}f", *(v / norm for v in values))
        return list(struct.unpack(f"<{dim}f", packed))

    # ----------------------------------------------------------------- internals
    def _register(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)
            self._handler_threads.add(threading.current_thread())

    def _unregister(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)
            self._handler_threads.discard(threading.current_thread())

    def _record(self, handler: _Handler, raw: bytes, body: Any, reply: Reply | None) -> None:
        request = RecordedRequest(
            method=handler.command,
            path=handler.path.split("?", 1)[0],
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
            raw=raw,
            reply=reply,
        )
        with self._changed:
            self._requests.append(request)
            if request.path == "/v1/chat/completions" and request.method == "POST":
                self._chat_count += 1
            self._changed.notify_all()

    def _wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True if the server is stopping (caller should bail out)."""
        if seconds > 0:
            return self._stopping.wait(seconds)
        return self._stopping.is_set()

    def _handle(self, h: _Handler) -> None:
        raw = h.read_body()
        try:
            body: Any = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            body = None
        path = h.path.split("?", 1)[0]
        method = h.command

        route = None
        if method == "POST" and path == "/v1/chat/completions":
            route = self._chat
        elif method == "POST" and path == "/v1/embeddings":
            route = self._embeddings
        elif method == "GET" and (path == "/v1/models" or path.startswith("/v1/models/")):
            route = self._models
        if route is None:
            self._record(h, raw, body, None)
            h.send_json(404, _error_body(f"Invalid URL ({method} {path})", "invalid_request_error"))
            return
        if self.require_auth and not h.headers.get("Authorization", "").startswith("Bearer "):
            self._record(h, raw, body, None)
            h.send_json(
                401,
                _error_body(
                    "You didn't provide an API key.", "invalid_request_error", "missing_api_key"
                ),
            )
            return
        route(h, raw, body)

    # -- /v1/models ---------------------------------------------------------------------
    def _models(self, h: _Handler, raw: bytes, body: Any) -> None:
        self._record(h, raw, body, None)
        path = h.path.split("?", 1)[0]
        cards = [
            {"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "evidence-press"}
            for m in self.models
        ]
        if path == "/v1/models":
            h.send_json(200, {"object": "list", "data": cards})
            return
        wanted = path.removeprefix("/v1/models/")
        for card in cards:
            if card["id"] == wanted:
                h.send_json(200, card)
                return
        h.send_json(
            404,
            _error_body(
                f"The model '{wanted}' does not exist", "invalid_request_error", "model_not_found"
            ),
        )

    # -- /v1/embeddings -----------------------------------------------------------------
    def _embeddings(self, h: _Handler, raw: bytes, body: Any) -> None:
        problem = _validate(body, ("model", "input"))
        if problem is None:
            items = _embedding_items(body["input"])
            if not items:
                problem = "'$.input' is invalid. Please check the API reference."
        if problem is not None:
            self._record(h, raw, body, None)
            h.send_json(400, _error_body(problem, "invalid_request_error"))
            return
        with self._lock:
            reply = self._embedding_script.popleft() if self._embedding_script else None
        self._record(h, raw, body, reply)
        if reply is not None:
            self._send_failure(h, reply, streaming=False)
            return
        dimensions = body.get("dimensions")
        dim = dimensions if isinstance(dimensions, int) and dimensions > 0 else None
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        tokens = 0
        for index, item in enumerate(items):
            vector = self.embedding_for(item, dim)
            tokens += _estimate_tokens(item) if isinstance(item, str) else len(item)
            embedding: Any = (
                base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
                if as_base64
                else vector
            )
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        h.send_json(
            200,
            {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    # -- /v1/chat/completions -------------------------------------------------------------
    def _chat(self, h: _Handler, raw: bytes, body: Any) -> None:
        problem = _validate(body, ("model", "messages"))
        if problem is None and (not isinstance(body["messages"], list) or not body["messages"]):
            problem = "Invalid 'messages': empty array. Expected an array with minimum length 1."
        if problem is not None:
            self._record(h, raw, body, None)
            h.send_json(400, _error_body(problem, "invalid_request_error"))
            return
        rejection = self._rejection(body)
        if rejection is not None:
            self._record(h, raw, body, None)
            h.send_json(400, _error_body(rejection, "invalid_request_error"))
            return
        with self._lock:
            reply = self._script.popleft() if self._script else self._default
            self._completion_seq += 1
            seq = self._completion_seq
        self._record(h, raw, body, reply)
        if reply is None:
            h.send_json(
                500,
                _error_body(
                    "Scripted OpenAI server: script exhausted (no reply queued and no default)",
                    "server_error",
                    "script_exhausted",
                ),
                [("x-should-retry", "false")],
            )
            return
        streaming = body.get("stream") is True
        if reply.kind != "completion":
            self._send_failure(h, reply, streaming=streaming, request=body, seq=seq)
            return
        if self._wait(reply.delay):
            h.close_connection = True
            return
        completion = _Completion(self, reply, body, seq)
        if streaming:
            include_usage = self.report_usage and bool(
                (body.get("stream_options") or {}).get("include_usage")
            )
            h.start_sse()
            for chunk in completion.chunks(include_usage):
                h.send_event(_compact_json(chunk))
            h.send_event("[DONE]")
            h.end_chunked()
        else:
            h.send_json(200, completion.full())

    def _rejection(self, body: dict[str, Any]) -> str | None:
        """The 400 message for a parameter this server is set to reject, or None."""
        for name, message in self.rejected_parameters.items():
            param, _, form = name.partition(":")
            if param in body and (form != "object" or isinstance(body[param], dict)):
                return message
        return None

    def _send_failure(
        self,
        h: _Handler,
        reply: Reply,
        *,
        streaming: bool,
        request: Any = None,
        seq: int = 0,
    ) -> None:
        """Play an error / raw / hang / stream_stall reply."""
        if reply.kind in ("error", "raw") and self._wait(reply.delay):
            h.close_connection = True
            return
        if reply.kind == "error":
            h.send_json(reply.status, reply.error_body, reply.headers)
        elif reply.kind == "raw":
            h.send_bytes(reply.status, reply.body, reply.content_type, reply.headers)
        elif reply.kind == "hang" or (reply.kind == "stream_stall" and not streaming):
            self._wait(reply.seconds)
            h.close_connection = True
        elif reply.kind == "stream_stall":
            if self._wait(reply.delay):
                h.close_connection = True
                return
            completion = _Completion(self, reply, request, seq)
            h.start_sse()
            for chunk in completion.chunks(include_usage=False, finish=False):
                h.send_event(_compact_json(chunk))
            stopping = self._wait(reply.seconds)
            if reply.then == "abort" or stopping:
                h.close_connection = True  # no terminating chunk: the body is incomplete
                return
            rest = _Completion(self, Reply.text(reply.rest_text), request, seq)
            for chunk in rest.chunks(include_usage=False, role=False):
                h.send_event(_compact_json(chunk))
            h.send_event("[DONE]")
            h.end_chunked()
        else:  # pragma: no cover - guarded by ReplyKind
            raise AssertionError(f"unexpected reply kind {reply.kind}")


class _Completion:
    """Renders a completion reply as a ``chat.completion`` or as ``chat.completion.chunk`` s."""

    def __init__(self, server: ScriptedOpenAIServer, reply: Reply, request: Any, seq: int) -> None:
        self.server = server
        self.reply = reply
        self.request = request if isinstance(request, dict) else {}
        self.seq = seq
        self.id = f"chatcmpl-test{seq:06d}"
        self.created = int(time.time())
        self.model = str(self.request.get("model", "test-model"))
        self.tool_calls: list[dict[str, Any]] = [
            {
                "id": call.id or f"call_{seq:06d}_{i}",
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for i, call in enumerate(reply.tool_calls)
        ]

    def usage(self) -> dict[str, Any]:
        """The usage block: scripted token counts or deterministic estimates."""
        prompt = self.reply.prompt_tokens
        if prompt is None:
            prompt = _estimate_tokens(_message_text(self.request.get("messages")))
        completion = self.reply.completion_tokens
        if completion is None:
            produced = (self.reply.content or "") + (self.reply.refusal or "")
            produced += "".join(c.arguments for c in self.reply.tool_calls)
            completion = _estimate_tokens(produced)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def _envelope(self, obj: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": obj,
            "created": self.created,
            "model": self.model,
            "service_tier": "default",
            "system_fingerprint": _SYSTEM_FINGERPRINT,
        }

    def full(self) -> dict[str, Any]:
        """The non-streaming ``chat.completion`` object."""
        message: dict[str, Any] = {
            "role": "assistant",
            "content": self.reply.content,
            "refusal": self.reply.refusal,
            "annotations": [],
        }
        if self.tool_calls:
            message["tool_calls"] = self.tool_calls
        return {
            **self._envelope("chat.completion"),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": self.reply.finish_reason,
                }
            ],
            "usage": self.usage(),
        }

    def chunks(
        self, include_usage: bool, *, finish: bool = True, role: bool = True
    ) -> list[dict[str, Any]]:
        """The ``chat.completion.chunk`` objects, in the order the real API sends them.

        First a chunk with ``role`` (and, for tool calls, the first call's id and name), then
        content / refusal pieces, then for each tool call an id+name chunk followed by argument
        fragments, then an empty delta with ``finish_reason``, then (``include_usage``) a chunk
        with ``choices: []`` and the usage.  With ``include_usage`` every chunk carries
        ``"usage": null`` as the real API's do.
        """
        size = self.server.stream_chunk_chars
        deltas: list[dict[str, Any]] = []
        first: dict[str, Any] = {}
        call_on_first = False
        if role:
            if self.reply.refusal is not None:
                first = {"role": "assistant", "content": None, "refusal": ""}
            elif self.tool_calls and not self.reply.content:
                first = {"role": "assistant", "content": None, "refusal": None}
                call_on_first = True  # the first call's id and name ride on the role chunk
            else:
                first = {"role": "assistant", "content": "", "refusal": None}
            deltas.append(first)
        for piece in _split(self.reply.content or "", size):
            deltas.append({"content": piece})
        for piece in _split(self.reply.refusal or "", size):
            deltas.append({"refusal": piece})
        for index, call in enumerate(self.tool_calls):
            head = {
                "index": index,
                "id": call["id"],
                "type": "function",
                "function": {"name": call["function"]["name"], "arguments": ""},
            }
            if index == 0 and call_on_first:
                first["tool_calls"] = [head]
            else:
                deltas.append({"tool_calls": [head]})
            for piece in _split(call["function"]["arguments"], size):
                deltas.append({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})

        out = [self._chunk(delta, None, include_usage) for delta in deltas]
        if finish:
            out.append(self._chunk({}, self.reply.finish_reason, include_usage))
            if include_usage:
                out.append(
                    {
                        **self._envelope("chat.completion.chunk"),
                        "choices": [],
                        "usage": self.usage(),
                    }
                )
        return out

    def _chunk(
        self, delta: dict[str, Any], finish_reason: str | None, usage: bool
    ) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            **self._envelope("chat.completion.chunk"),
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }
        if usage:
            chunk["usage"] = None
        return chunk


def _error_body(message: str, type_: str, code: str | None = None) -> dict[str, Any]:
    """OpenAI's error envelope."""
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def _validate(body: Any, required: Sequence[str]) -> str | None:
    """The 400 message the real API gives for a missing body or field, or None if valid."""
    if not isinstance(body, dict):
        return (
            "We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly.)"
        )
    for name in required:
        if name not in body:
            return f"Missing required parameter: '{name}'."
    return None


def _embedding_items(value: Any) -> list[str | list[int]]:
    """Normalise an embeddings ``input`` (str, [str], [int], [[int]]) into a list of items."""
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        return [list(value)]
    if isinstance(value, list):
        items: list[str | list[int]] = []
        for v in value:
            if isinstance(v, str) and v:
                items.append(v)
            elif isinstance(v, list) and v and all(isinstance(t, int) for t in v):
                items.append(list(v))
            else:
                return []
        return items
    return []


def _message_text(messages: Any) -> str:
    """Concatenate the text of chat messages (string or content-part form) for token estimates."""
    if not isinstance(messages, list):
        return ""
    parts: list[str] = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "".join(parts)
