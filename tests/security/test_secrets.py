"""API keys and URL passwords never appear in output, files, provenance or error messages.

Distinct secrets are set the three ways a user can (OPENAI_API_KEY, PRESS_LLM__API_KEY, a
base URL with ``user:password@``); then the commands that print or write run: `press config
show` (table and JSON), `press draft --llm` (success, and a failure whose error body echoes the
key, as some proxies do), `press status`/`history`, `press publish` (the site) and `press eval
articles` (JSON and HTML reports), `press build` (its JSON report, JSON-lines log and the
message of a question that failed with the echoed key). Every byte printed and every file
written under the test's folder (store, index, outputs, reports, even SQLite files) is
searched for every secret.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.review.workflow import Workflow
from pipeline.settings.load import load_settings
from pipeline.store.db import Store
from tests.support import tally
from tests.support.demo_index import REFERENCE_QUESTION
from tests.support.openai_server import Reply, ScriptedOpenAIServer
from tests.support.press_cli import press
from tests.support.review_factories import acknowledge_flags, write_verdict

OPENAI_KEY = "sk-openai-SECRET-4d1f9c0e7a"
PRESS_KEY = "sk-press-SECRET-b83e55d21c"
URL_PASSWORD = "pw-SECRET-90af13"
SECRETS = [OPENAI_KEY, PRESS_KEY, URL_PASSWORD]


def draft_args() -> dict[str, Any]:
    return {
        "headline": "IVIG May Help",
        "summary": "Trials report less stiffness.",
        "sections": [
            {
                "heading": "Trials",
                "bullets": [{"text": "IVIG reduced stiffness.", "citations": [1]}],
            }
        ],
        "bottom_line": "Consider IVIG.",
        "related_questions": [],
        "insufficient_evidence": False,
        "verdict": "maybe",
    }


@pytest.mark.slow  # a subprocess or the whole demo set: seconds, not ms
@pytest.mark.parametrize("key_source", ["OPENAI_API_KEY", "PRESS_LLM__API_KEY"])
def test_no_secret_is_printed_written_or_raised(
    staffed_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_openai_server: Callable[..., ScriptedOpenAIServer],
    key_source: str,
) -> None:
    key = OPENAI_KEY if key_source == "OPENAI_API_KEY" else PRESS_KEY
    monkeypatch.setenv(key_source, key)
    # httpx turns a URL's user:password into Basic auth, replacing the bearer key.
    openai_server = make_openai_server(require_auth=False)
    port = openai_server.base_url.split(":")[2].split("/")[0]
    monkeypatch.setenv("PRESS_LLM__BASE_URL", f"http://press:{URL_PASSWORD}@127.0.0.1:{port}/v1")
    monkeypatch.setenv("PRESS_LLM__MODEL", "test-model")
    monkeypatch.setenv("PRESS_LLM__MAX_RETRIES", "0")
    questions = tmp_path / "set.jsonl"
    questions.write_text(json.dumps({"id": "q1", "question": REFERENCE_QUESTION}) + "\n")
    openai_server.default = Reply.tool_call("Draft", draft_args())
    echo = f"Incorrect API key provided: {key} at http://press:{URL_PASSWORD}@x"

    printed: list[str] = []

    def run(args: list[str], reply: Reply | None = None) -> int:
        if reply is not None:
            openai_server.enqueue(reply)
        result = press(args)
        printed.extend([result.stdout, result.stderr, repr(result.exception)])
        return result.exit_code

    assert run(["config", "show"]) == 0
    assert run(["config", "show", "--json"]) == 0
    assert run(["draft", REFERENCE_QUESTION, "--llm", "--as", "ann"], Reply.error(401, echo)) == 1
    assert run(["draft", REFERENCE_QUESTION, "--llm", "--as", "ann"], Reply.error(500, echo)) == 1
    assert run(["draft", REFERENCE_QUESTION, "--llm", "--as", "ann"]) == 0
    slug = json.loads(press(["status", "--json"]).stdout)[0]["slug"]
    flow = Workflow(Store.from_settings(load_settings()))
    write_verdict(flow, slug)  # the publish gate: no drafter's placeholder reaches approval
    for args in (["submit", slug], ["review", slug], ["approve", slug], ["publish", slug]):
        user = {"submit": "ann", "review": "rex", "approve": "rex", "publish": "pam"}[args[0]]
        if args[0] == "approve":
            acknowledge_flags(flow, slug)
        assert run([*args, "--as", user]) == 0
    assert run(["status", slug, "--json"]) == 0
    assert run(["history", slug]) == 0
    report, page = tmp_path / "report.json", tmp_path / "report.html"
    assert run(["eval", "articles", "--set", str(questions), "--llm", "--out", str(report),
                "--html", str(page)]) == 0  # fmt: skip
    assert report.is_file() and page.is_file()
    manifest = tmp_path / "nightly.yaml"
    nightly = ["Does IVIG reduce stiffness in stiff-person syndrome?", "Is diazepam used for SPS?"]
    manifest.write_text(
        yaml.safe_dump(
            {"name": "nightly", "questions": nightly, "author": "ann", "drafter": "llm",
             "concurrency": 1, "rate_limit": {"max_retries": 0}}
        )
    )  # fmt: skip
    build_report, build_log = tmp_path / "build.json", tmp_path / "build.jsonl"
    build = ["build", str(manifest), "--json", "--report", str(build_report)]
    assert run([*build, "--log-jsonl", str(build_log)], Reply.error(401, echo)) == 1
    assert json.loads(build_report.read_text())["counts"]["failed"] == 1
    assert build_log.read_text().count("\n") >= 2
    assert any("***" in text for text in printed)  # config show masked rather than omitted

    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) > 10 and any(p.suffix == ".sqlite" for p in written)
    for secret in SECRETS:
        tally.count("payloads: secret searched in output and files")
        for text in printed:
            assert secret not in text, (secret, text[:300])
        for path in written:
            assert secret.encode() not in path.read_bytes(), (secret, path)
    # The settings did hold the key: the search above was looking for something real.
    llm = load_settings().llm
    assert llm.api_key is not None and llm.api_key.get_secret_value() == key
    assert llm.base_url and URL_PASSWORD in llm.base_url
    assert openai_server.chat_requests == 6
