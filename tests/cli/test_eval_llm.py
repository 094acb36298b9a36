"""`press eval articles --llm --limit N` with an endpoint configured (the scripted server)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.index.hybrid import Index
from pipeline.settings.load import Settings
from tests.cli.test_eval import DEMO_SET, _env
from tests.evaluate.test_articles import _draft_args
from tests.support.demo_index import copy_demo_home
from tests.support.openai_server import Reply, ScriptedOpenAIServer

runner = CliRunner()


def test_the_llm_path_drafts_the_first_questions_and_counts_missing_verdicts(
    openai_server: ScriptedOpenAIServer, demo: tuple[Settings, Index], tmp_path: Path
) -> None:
    settings, _ = demo
    # The first two demo questions expect "maybe": one draft agrees, one gives no verdict.
    openai_server.enqueue(
        Reply.tool_call("Draft", _draft_args("maybe"), prompt_tokens=500, completion_tokens=50),
        # No verdict on a yes/no question: one repair round, and this model keeps none.
        *[Reply.tool_call("Draft", _draft_args(None), prompt_tokens=400, completion_tokens=40)] * 2,
    )
    env = _env(copy_demo_home(settings.home, tmp_path / "home"), tmp_path) | {
        "PRESS_LLM__BASE_URL": openai_server.base_url,
        "PRESS_LLM__API_KEY": "test",
        "PRESS_LLM__MODEL": "test-model",
        "PRESS_LLM__MAX_RETRIES": "0",
    }
    out = tmp_path / "llm.json"
    result = runner.invoke(
        app, ["eval", "articles", "--set", str(DEMO_SET), "--llm", "--limit", "2", "--out",
              str(out)], env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["drafter"] == "llm" and report["n_questions"] == 2
    m = report["metrics"]
    assert (m["verdict_agreement"], m["n_verdict_scored"], m["n_verdict_given"]) == (0.5, 2, 1)
    assert report["tokens"]["prompt_tokens"] == 1300
    assert "a missing or uncertain one counts as wrong" in out.with_suffix(".html").read_text()
