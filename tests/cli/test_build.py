"""`press build` as a process: a SIGKILLed build resumes, a locked store and bad input exit 2.

The builds run as subprocesses against the demo index (read-only), a private store and the
scripted OpenAI-compatible server of this test process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.build.lock import build_lock
from pipeline.index.hybrid import Index
from pipeline.settings.load import Settings
from pipeline.store.db import Store
from tests.build.helpers import QUESTIONS, build_settings, draft_reply, write_manifest
from tests.support.demo_index import copy_demo_home
from tests.support.openai_server import Reply, ScriptedOpenAIServer
from tests.support.press_cli import press

Demo = tuple[Settings, Index]
PRESS = str(Path(sys.executable).parent / "press")


def _env(demo: Demo, tmp: Path, server: ScriptedOpenAIServer | None = None) -> dict[str, str]:
    settings, _ = demo
    env = {
        **os.environ,
        "PRESS_HOME": str(copy_demo_home(settings.home, tmp / "home")),
        "PRESS_OUTPUTS": str(tmp / "outputs"),
        "PRESS_STORE__URL": f"sqlite:///{tmp / 'press.sqlite'}",
    }
    if server is not None:
        env |= {
            "PRESS_LLM__BASE_URL": server.base_url,
            "PRESS_LLM__API_KEY": "test",
            "PRESS_LLM__MODEL": "test-model",
            "PRESS_LLM__TIMEOUT_S": "60",
        }
    return env


def _press(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PRESS, *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )


def _done(log: Path) -> int:
    if not log.is_file():
        return 0
    complete = log.read_text().split("\n")[:-1]  # the last piece may be half written
    return sum(json.loads(line)["event"] == "question.done" for line in complete)


@pytest.mark.slow  # a subprocess or the whole demo set: seconds, not ms
def test_killed_build_resumes_without_redrafting_finished_questions(
    demo: Demo, tmp_path: Path, openai_server: ScriptedOpenAIServer
) -> None:
    # Questions 1 and 2 are answered; the server hangs on question 3 until the kill.
    openai_server.enqueue(draft_reply(), draft_reply(), Reply.hang(120))
    env = _env(demo, tmp_path, openai_server)
    manifest = write_manifest(tmp_path, questions=QUESTIONS, drafter="llm", concurrency=1)
    log = tmp_path / "build.jsonl"
    build = subprocess.Popen(
        [PRESS, "build", str(manifest), "--json", "--log-jsonl", str(log)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        # Kill once question 3 hangs and questions 1-2 are committed (logged after commit).
        while openai_server.chat_requests < 3 or _done(log) < 2:
            assert build.poll() is None, "the build ended before reaching question 3"
            assert time.monotonic() < deadline, "the build never reached question 3"
            time.sleep(0.1)
        os.kill(build.pid, signal.SIGKILL)
    finally:
        build.wait(30)
    assert build.returncode == -signal.SIGKILL
    assert _done(log) == 2
    assert Store.from_settings(build_settings(demo, tmp_path)).articles().__len__() == 2

    openai_server.default = draft_reply()
    rerun = _press("build", str(manifest), "--json", env=env)
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert report["counts"] == {"new": 3, "changed": 0, "unchanged": 2, "held": 0, "failed": 0}
    assert [q["outcome"] for q in report["questions"][:2]] == ["unchanged", "unchanged"]
    assert openai_server.chat_requests == 3 + 3  # only the three unfinished questions

    third = _press("build", str(manifest), "--json", env=env)
    assert third.returncode == 0, third.stderr
    assert json.loads(third.stdout)["counts"]["unchanged"] == 5
    assert openai_server.chat_requests == 6, "an unchanged rebuild made LLM requests"


def test_locked_store_exits_75_bad_manifest_and_bad_shard_exit_2(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _env(demo, tmp_path)
    manifest = write_manifest(tmp_path)
    # The busy exit as a real process (what a scheduler sees) while this process holds the lock.
    with build_lock(Store.from_settings(build_settings(demo, tmp_path))):
        locked = _press("build", str(manifest), env=env)
    assert locked.returncode == 75  # EX_TEMPFAIL: busy, retry later (not a config error)
    assert "Another build is running" in locked.stderr

    # Bad input goes through the same error handler; in process saves two interpreter starts.
    for name in ("PRESS_HOME", "PRESS_OUTPUTS", "PRESS_STORE__URL"):
        monkeypatch.setenv(name, env[name])
    bad = write_manifest(tmp_path, name="bad.yaml", concurrency="many")
    result = press(["build", str(bad)])
    assert result.exit_code == 2 and "concurrency" in result.stderr

    result = press(["build", str(manifest), "--shard", "3/2"])
    assert result.exit_code == 2 and "shard" in result.stderr
