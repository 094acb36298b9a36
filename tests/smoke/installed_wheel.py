"""Smoke test of the installed product: the wheel, a fresh venv, ``press`` from an empty folder.

Users install the wheel, not the checkout, so this script does what a new user does and
fails (exit 1, naming the step and showing its output) on any problem:

1. build the wheel and sdist (``python -m build``), unless ``--wheel`` names one;
2. install the wheel into a fresh venv (dependencies from the package index);
3. in an empty temporary folder outside the checkout: ``press --version``, ``press doctor``,
   ``press ingest --demo``, ``press draft --no-llm``, ``press draft --llm`` against the
   scripted OpenAI-compatible test server (an article is written and checked) and
   ``press doctor --llm``;
4. the review workflow by CLI up to ``press publish`` of the LLM draft, then
   ``press site build``;
5. ``press serve``: ``GET /login`` is 200, its static files are served, and a reviewer signs
   in, sees the article in the queue and opens it (:func:`desk_smoke`);
6. ``press eval retrieval`` on the demo set writes JSON and HTML.

Run it by hand from the checkout (its own venv active): ``python tests/smoke/installed_wheel.py``
(``--wheel dist/….whl`` to reuse a build, ``--keep`` to keep the temporary folder).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.support.openai_server import Reply, ScriptedOpenAIServer  # noqa: E402

QUESTION = "What is the initial treatment for stiff-person syndrome?"
EXTRACTIVE_QUESTION = "Is IVIG effective in stiff-person syndrome?"
DEMO_SET = REPO / "evals" / "sets" / "demo.jsonl"
"""The demo question set: user input to ``press eval``, not a file the program ships."""
PASSWORD = "smoke desk password"
STAFF = {"ann": "author", "rex": "reviewer", "pam": "publisher"}


class SmokeFailure(Exception):
    """One step of the smoke test failed; the message says which and shows its output."""


class Runner:
    """Runs ``press`` from the installed venv in a work folder with a clean environment."""

    def __init__(self, press: Path, work: Path, env: dict[str, str]) -> None:
        self.press = press
        self.work = work
        self.env = env
        self.steps: list[tuple[str, float]] = []

    def __call__(
        self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``press ARGS``; a non-zero exit is a :class:`SmokeFailure`."""
        start = time.perf_counter()
        done = subprocess.run(
            [str(self.press), *args],
            cwd=self.work,
            env={**self.env, **(env or {})},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        self.steps.append((" ".join(args[:2]), time.perf_counter() - start))
        if done.returncode != 0:
            raise SmokeFailure(
                f"`press {' '.join(args)}` exited {done.returncode}\n"
                f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
            )
        return done


def clean_env(home: Path) -> dict[str, str]:
    """The environment of a user who has only the wheel: no PRESS_*, OPENAI_*, PYTHONPATH."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PRESS_", "OPENAI_", "VIRTUAL_ENV", "PYTHON"))
    }
    env["HOME"] = str(home)
    env["XDG_CACHE_HOME"] = str(home / ".cache")
    return env


def build(dist: Path) -> Path:
    """Build the wheel and sdist into ``dist``; returns the wheel."""
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(REPO)],
        check=True,
        capture_output=True,
    )
    wheels = sorted(dist.glob("evidence_press-*.whl"))
    if not wheels or not list(dist.glob("evidence_press-*.tar.gz")):
        raise SmokeFailure(f"`python -m build` left no wheel and sdist in {dist}")
    return wheels[-1]


def install(wheel: Path, venv: Path) -> Path:
    """A fresh venv with only the wheel (and its dependencies); returns its ``press``.

    uv (a dev dependency) resolves and installs the same requirements as pip from the same
    index in seconds rather than minutes; pip is the fallback where uv is missing.
    """
    uv = Path(sys.executable).with_name("uv")
    if uv.is_file():
        commands = [
            [str(uv), "venv", "-q", "--python", sys.executable, str(venv)],
            [str(uv), "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(wheel)],
        ]
    else:
        commands = [
            [sys.executable, "-m", "venv", str(venv)],
            [str(venv / "bin" / "pip"), "install", "-q", str(wheel)],
        ]
    for command in commands:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SmokeFailure(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return venv / "bin" / "press"


def llm_reply(evidence_numbers: Sequence[int]) -> Reply:
    """A well-formed Draft tool call citing the first evidence items (the scripted model)."""
    first, second = evidence_numbers[0], evidence_numbers[min(1, len(evidence_numbers) - 1)]
    args = {
        "headline": "Benzodiazepines Are the Usual First Treatment",
        "summary": "Treatment usually starts with drugs that enhance GABA signalling.",
        "sections": [
            {
                "heading": "First-Line Treatment",
                "bullets": [
                    {
                        "text": "Benzodiazepines such as diazepam relieve stiffness and spasms.",
                        "citations": [first],
                    },
                    {
                        "text": "Immunotherapy is considered when symptomatic drugs fail.",
                        "citations": [second],
                    },
                ],
            }
        ],
        "bottom_line": "Start with symptomatic GABAergic drugs; add immunotherapy if needed.",
        "related_questions": ["Is IVIG effective in stiff-person syndrome?"],
        "insufficient_evidence": False,
        "verdict": None,
    }
    return Reply.tool_call("Draft", args)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def desk_smoke(url: str, slug: str, user: str, password: str) -> None:
    """Login → queue → article through the desk at ``url``; raises SmokeFailure on a problem."""
    with httpx.Client(base_url=url, timeout=30, follow_redirects=False) as client:
        page = client.get("/login")
        if page.status_code != 200:
            raise SmokeFailure(f"GET /login answered {page.status_code}")
        for asset in re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text):
            served = client.get(asset)
            if served.status_code != 200 or not served.content:
                raise SmokeFailure(f"GET {asset} answered {served.status_code}")
        if "/static/" not in page.text:
            raise SmokeFailure("the login page links no static file")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        if token is None:
            raise SmokeFailure("the login form carries no CSRF token")
        signed_in = client.post(
            "/login",
            data={"username": user, "password": password, "csrf_token": token.group(1)},
        )
        if signed_in.status_code != 303:
            raise SmokeFailure(f"signing in answered {signed_in.status_code}")
        queue = client.get("/queue")
        if queue.status_code != 200 or f"/articles/{slug}" not in queue.text:
            raise SmokeFailure(f"the queue ({queue.status_code}) does not list {slug}")
        article = client.get(f"/articles/{slug}")
        if article.status_code != 200 or 'id="evidence-1"' not in article.text:
            raise SmokeFailure(f"the article page ({article.status_code}) has no evidence panel")


def wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 90) -> None:
    """Wait until ``url`` answers; SmokeFailure when the server exits or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SmokeFailure(f"press serve exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SmokeFailure(f"press serve did not answer {url} within {seconds:.0f} s")


def article_json(printed: str, work: Path) -> dict[str, Any]:
    """The article.json beside the article whose path ``press draft`` printed last."""
    path = work / Path(printed.strip().splitlines()[-1]).with_name("article.json")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def run(press: Path, work: Path, extra_env: dict[str, str] | None = None) -> Runner:
    """Every step of the smoke test against the ``press`` executable, in ``work``.

    ``extra_env`` is added to the clean environment every command gets (the wheel test
    records the files each process opens through it).
    """
    home = work / "user-home"
    home.mkdir()
    env = {**clean_env(home), **(extra_env or {})}
    r = Runner(press, work, env)
    version = r("--version").stdout
    if not version.startswith("evidence-press "):
        raise SmokeFailure(f"press --version printed {version!r}")
    r("doctor")
    ingest = json.loads(r("ingest", "--demo", "--json").stdout)
    if ingest["totals"]["citations"] < 10 or ingest["totals"]["failed"]:
        raise SmokeFailure(f"ingest --demo: {ingest['totals']}")
    extractive = article_json(r("draft", EXTRACTIVE_QUESTION, "--no-llm").stdout, work)
    if not extractive["references"] or extractive["provenance"]["drafter"] != "extractive":
        raise SmokeFailure("the extractive draft has no references")

    with ScriptedOpenAIServer(require_auth=False) as server:
        server.default = Reply.text("OK")
        server.enqueue(llm_reply([1, 2]))
        llm_env = {"PRESS_LLM__BASE_URL": server.base_url, "PRESS_LLM__MODEL": "test-model"}
        for name, role in STAFF.items():
            r("users", "add", name, "--role", role)
        drafted = r("draft", QUESTION, "--llm", "--as", "ann", env=llm_env).stdout
        article = article_json(drafted, work)
        if article["provenance"]["drafter"] != "llm" or server.chat_requests < 1:
            raise SmokeFailure("press draft --llm did not draft through the endpoint")
        if not article["references"] or not article["checks"]:
            raise SmokeFailure("the LLM draft was not checked (no references or checks)")
        r("doctor", "--llm", env=llm_env)
    slug = article["slug"]
    for step, user in (("submit", "ann"), ("review", "rex")):
        r(step, slug, "--as", user)
    # the publish gate: every flagged check needs a reviewer's decision with a reason
    for index, check in enumerate(article["checks"]):
        if check.get("flagged"):
            reason = "checked against the cited passage (smoke test)"
            r("acknowledge", slug, "--check", str(index), "--reason", reason, "--as", "rex")
    for step, user in (("approve", "rex"), ("publish", "pam")):
        r(step, slug, "--as", user)
    r("site", "build")
    page = work / "outputs" / "site" / "articles" / f"{slug}.html"
    if not page.is_file() or "Approved" not in page.read_text(encoding="utf-8"):
        raise SmokeFailure(f"press site build wrote no approved page at {page}")

    r("users", "password", "rex", "--password-stdin", stdin=PASSWORD + "\n")
    port = free_port()
    log = (work / "serve.log").open("wb")
    process = subprocess.Popen(
        [str(press), "serve", "--port", str(port)], cwd=work, env=env, stdout=log, stderr=log
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/login", process)
        desk_smoke(url, slug, "rex", PASSWORD)
    except SmokeFailure as failure:
        log.flush()
        served = (work / "serve.log").read_text()[-3000:]
        raise SmokeFailure(f"{failure}\n--- serve log\n{served}") from None
    finally:
        process.terminate()
        process.wait(10)
        log.close()

    report = work / "reports" / "retrieval.json"
    r("eval", "retrieval", "--set", str(DEMO_SET), "--out", str(report))
    if not report.is_file() or not report.with_suffix(".html").is_file():
        raise SmokeFailure(f"press eval retrieval wrote no JSON and HTML at {report}")
    json.loads(report.read_text(encoding="utf-8"))
    return r


def main(argv: Sequence[str] | None = None) -> int:
    """Build (or take) the wheel, install it fresh, run every step; 0 when all passed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="Use this wheel instead of building one.")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary folder.")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="press-smoke-"))
    try:
        wheel = args.wheel.resolve() if args.wheel else build(tmp / "dist")
        with zipfile.ZipFile(wheel) as archive:
            files = len(archive.namelist())
        print(f"wheel {wheel.name}: {wheel.stat().st_size / 1024:.0f} KiB, {files} files")
        t0 = time.perf_counter()
        press = install(wheel, tmp / "venv")
        print(f"installed into a fresh venv in {time.perf_counter() - t0:.0f} s")
        work = tmp / "work"
        work.mkdir()
        runner = run(press, work)
    except (SmokeFailure, subprocess.CalledProcessError) as failure:
        print(f"SMOKE FAILED: {failure}", file=sys.stderr)
        if isinstance(failure, subprocess.CalledProcessError) and failure.stderr:
            print(failure.stderr[-3000:], file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    for step, seconds in runner.steps:
        print(f"  {seconds:6.1f} s  press {step}")
    print(f"installed-wheel smoke test passed in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
