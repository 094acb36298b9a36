"""Fixtures for the end-to-end test: a staffed press home, the real ``press serve`` in a
subprocess, headless Chromium driven by Playwright, and a folder for screenshots.

The browser is Debian's ``chromium`` (found on ``PATH``), never a Playwright download; the
test is skipped with a reason when it or the ``playwright`` package is missing. The home's
index is a copy of the session's demo index (the shared one stays read-only); the store,
outputs and session key are the test's own.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner, Result

from pipeline.cli.app import app
from pipeline.index.hybrid import Index
from pipeline.settings.load import Settings

if TYPE_CHECKING:
    from playwright.sync_api import Browser

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "e2e desk password"
STAFF = {"ann": "author", "rex": "reviewer", "pam": "publisher"}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
START_TIMEOUT_S = 90.0


@dataclass
class DeskServer:
    """A running ``press serve``: its URL, its outputs folder and its log file."""

    url: str
    outputs: Path
    log: Path
    process: subprocess.Popen[bytes]

    def log_tail(self, lines: int = 60) -> str:
        """The last ``lines`` lines the server wrote (stdout and stderr)."""
        text = self.log.read_text("utf-8", errors="replace") if self.log.is_file() else ""
        return "\n".join(text.splitlines()[-lines:])


def artifacts_dir() -> Path:
    """``$PRESS_TEST_ARTIFACTS``, else ``outputs/test-artifacts/e2e`` in the repo."""
    configured = os.environ.get("PRESS_TEST_ARTIFACTS")
    return Path(configured) if configured else REPO / "outputs" / "test-artifacts" / "e2e"


@pytest.fixture
def artifacts() -> Path:
    """The screenshot folder, without the previous run's ``NN-step.png`` screenshots."""
    folder = artifacts_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("[0-9][0-9]-*.png"):
        old.unlink()
    return folder


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium under Playwright (skipped when either is missing)."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is not installed (dev extra)"
    )
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("no chromium on PATH (Debian package `chromium`; .ci/run installs it)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def staffed_press_home(
    demo: tuple[Settings, Index], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A press home with a copy of the demo index, an author (ann), a reviewer (rex) and a
    publisher (pam) with web passwords, set with the real ``press users`` commands.
    Returns the outputs folder; ``PRESS_HOME``/``PRESS_OUTPUTS`` point at the test's own.
    """
    demo_settings, _ = demo
    home = tmp_path / "e2e-home"
    shutil.copytree(demo_settings.index_dir, home / "index")
    outputs = tmp_path / "e2e-outputs"
    monkeypatch.setenv("PRESS_HOME", str(home))
    monkeypatch.setenv("PRESS_OUTPUTS", str(outputs))
    monkeypatch.delenv("PRESS_STORE__URL", raising=False)
    monkeypatch.delenv("PRESS_CONFIG", raising=False)
    press(["users", "add", "ada", "--role", "admin"])
    for name, role in STAFF.items():
        press(["users", "add", name, "--role", role, "--as", "ada"])
        result = press(["users", "password", name, "--password-stdin"], stdin=PASSWORD + "\n")
        assert f"password set for {name}" in result.stdout
    return outputs


def press(args: list[str], stdin: str | None = None) -> Result:
    """Run ``press ARGS`` in process (the real command line) and assert it succeeded."""
    result = CliRunner().invoke(app, args, input=stdin)
    assert result.exit_code == 0, (args, result.stdout, result.stderr, result.exception)
    return result


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _press_command() -> list[str]:
    """The ``press`` console script of this interpreter's environment (or its equivalent)."""
    script = Path(sys.executable).with_name("press")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from pipeline.cli.app import app; app(prog_name='press')"]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@pytest.fixture
def desk_server(staffed_press_home: Path, tmp_path: Path) -> Iterator[DeskServer]:
    """``press serve --host 127.0.0.1 --port FREE`` in a subprocess, stopped after the test."""
    port = _free_port()
    log = tmp_path / "press-serve.log"
    command = [*_press_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    server = DeskServer(f"http://127.0.0.1:{port}", staffed_press_home, log, process)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers(server.url + "/login"):
            if process.poll() is not None:
                pytest.fail(f"press serve exited with {process.returncode}:\n{server.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"press serve did not answer in {START_TIMEOUT_S:.0f} s:\n{server.log_tail()}"
                )
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
