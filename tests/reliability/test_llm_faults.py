"""`press draft --llm` against a misbehaving endpoint: a clean refusal, nothing half-stored.

Each fault is injected by the scripted OpenAI-compatible server (tests/support). What the
workflow records when drafting fails: nothing. The command exits 1 with the cause and a hint,
no revision is stored and no files are written under outputs/drafts, so the article's
current (published) revision and the site stay exactly as they were. A reply that parses
but cites numbers that are not in the evidence is stored with those numbers removed and the
bullets flagged; the workflow never publishes a revision whose numbers do not resolve.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipeline.review.workflow import Workflow
from pipeline.store.db import Store
from tests.support import tally
from tests.support.demo_index import REFERENCE_QUESTION
from tests.support.openai_server import Reply, ScriptedOpenAIServer
from tests.support.press_cli import ok, press
from tests.support.review_factories import acknowledge_flags, write_verdict


def draft_args(
    citations: list[list[int]], bullets_text: str = "IVIG reduced stiffness"
) -> dict[str, Any]:
    return {
        "headline": "IVIG Helps Some Patients",
        "summary": "Trials report less stiffness with IVIG.",
        "sections": [
            {
                "heading": "Trial Evidence",
                "bullets": [
                    {"text": f"{bullets_text} ({i}).", "citations": c}
                    for i, c in enumerate(citations)
                ],
            }
        ],
        "bottom_line": "IVIG can be considered.",
        "related_questions": ["What dose is used?"],
        "insufficient_evidence": False,
        "verdict": "yes",
    }


@pytest.fixture
def llm_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[ScriptedOpenAIServer], None]:
    def point_at(server: ScriptedOpenAIServer) -> None:
        monkeypatch.setenv("PRESS_LLM__BASE_URL", server.base_url)
        monkeypatch.setenv("PRESS_LLM__API_KEY", "test")
        monkeypatch.setenv("PRESS_LLM__MODEL", "test-model")
        monkeypatch.setenv("PRESS_LLM__MAX_RETRIES", "1")
        monkeypatch.setenv("PRESS_LLM__TIMEOUT_S", "0.5")
        monkeypatch.setenv("PRESS_LLM__STREAM_DEADLINE_S", "1.5")

    return point_at


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def publish_extractive_draft() -> str:
    from pipeline.settings.load import load_settings
    ok(["draft", REFERENCE_QUESTION, "--no-llm", "--as", "ann"])
    [article] = json.loads(ok(["status", "--json"]).stdout)
    slug = str(article["slug"])
    flow = Workflow(Store.from_settings(load_settings()))
    write_verdict(flow, slug)  # the publish gate holds the drafter's placeholders back
    for args in (["submit", slug, "--as", "ann"], ["review", slug, "--as", "rex"]):
        ok(args)
    acknowledge_flags(flow, slug)
    ok(["approve", slug, "--as", "rex"])
    ok(["publish", slug, "--as", "pam"])
    return slug


SSE = "text/event-stream"
FAULTS: list[tuple[str, Reply, str]] = [
    ("429 storm", Reply.rate_limited(), "429"),
    ("500 on every call", Reply.error(500, "boom"), "HTTP 500"),
    ("502 with an HTML body", Reply.raw(502, "<html>bad gateway</html>", "text/html"), "HTTP 502"),
    ("server hangs", Reply.hang(30), "sent nothing|did not finish"),
    ("stream stalls midway", Reply.stream_stall("The evidence", 30), "sent nothing|did not finish"),
    ("truncated JSON body", Reply.raw(200, '{"id": "x", "choices": [{"mess'), "model"),
    (
        "truncated SSE stream",
        Reply.raw(200, 'data: {"id":"c","choices":[{"delta":{"cont', SSE),
        "model",
    ),
    ("empty stream", Reply.raw(200, "data: [DONE]\n\n", SSE), "malformed|without any content"),
]
# Replies that arrive but are no house-format article: stored as "failed — needs redraft".
FORMAT_FAULTS: list[tuple[str, Reply, str]] = [
    ("truncated tool arguments", Reply.tool_call("Draft", '{"headline": "x", "summ'), "schema"),
    ("prose instead of a tool call", Reply.text("Sure! IVIG works. [1]"), "not a Draft"),
    ("refusal", Reply.refusal_message("I cannot help with that."), "no Draft"),
    ("schema-violating arguments", Reply.tool_call("Draft", {"headline": 7}), "schema"),
]


def test_every_endpoint_fault_is_refused_cleanly_and_stores_nothing(
    staffed_home: Path, openai_server: ScriptedOpenAIServer, llm_env: Callable[..., None]
) -> None:
    slug = publish_extractive_draft()
    site = snapshot(staffed_home / "site")
    drafts = snapshot(staffed_home / "drafts")
    before = json.loads(ok(["status", slug, "--json"]).stdout)
    llm_env(openai_server)
    for name, reply, words in FAULTS:
        tally.count("faults injected: llm endpoint")
        openai_server.default = reply
        result = press(["draft", REFERENCE_QUESTION, "--llm", "--as", "ann"])
        assert result.exit_code == 1, (name, result.stdout, result.stderr, result.exception)
        assert "error:" in result.stderr and "hint:" in result.stderr, name
        assert re.search(words, " ".join(result.stderr.split())), (name, result.stderr)
        assert "Traceback" not in result.stderr + result.stdout, name
        assert json.loads(ok(["status", slug, "--json"]).stdout) == before, name
        assert snapshot(staffed_home / "site") == site, name
        assert snapshot(staffed_home / "drafts") == drafts, name
        tally.count("faults survived: llm endpoint")
    assert openai_server.chat_requests >= len(FAULTS)


def test_a_reply_that_is_no_article_is_stored_as_failed_and_never_published(
    staffed_home: Path,
    openai_server: ScriptedOpenAIServer,
    llm_env: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slug = publish_extractive_draft()
    site = snapshot(staffed_home / "site")
    llm_env(openai_server)
    monkeypatch.setenv("PRESS_LLM__STREAM_DEADLINE_S", "30")  # two calls on a loaded machine
    for name, reply, words in FORMAT_FAULTS:
        tally.count("faults injected: llm reply format")
        openai_server.default = reply
        result = press(["draft", REFERENCE_QUESTION, "--llm", "--as", "ann"])
        assert result.exit_code == 1, (name, result.stdout, result.stderr, result.exception)
        said = " ".join(result.stderr.split())
        assert "failed — needs redraft" in said and "hint:" in said, name
        assert re.search(words, said), (name, said)
        assert "Traceback" not in result.stderr + result.stdout, name
        status = json.loads(ok(["status", slug, "--json"]).stdout)
        assert status["status"] == "failed", name
        refused = press(["submit", slug, "--as", "ann"])
        assert refused.exit_code != 0 and "failed" in refused.stderr, name
        assert snapshot(staffed_home / "site") == site, name
        tally.count("faults survived: llm reply format")
    ok(["withdraw", slug, "--as", "ann"])  # from failed: withdraw (or a new revision)


def test_a_short_429_storm_is_ridden_out_by_the_retries(
    staffed_home: Path, openai_server: ScriptedOpenAIServer, llm_env: Callable[..., None]
) -> None:
    llm_env(openai_server)
    openai_server.enqueue(Reply.rate_limited(), Reply.tool_call("Draft", draft_args([[1], [2]])))
    tally.count("faults injected: llm endpoint")
    ok(["draft", REFERENCE_QUESTION, "--llm", "--as", "ann"])
    [article] = json.loads(ok(["status", "--json"]).stdout)
    assert (article["status"], article["revision"]) == ("draft", "r1")
    assert openai_server.chat_requests == 2
    tally.count("faults survived: llm endpoint")


def stored_article(out: Path) -> dict[str, Any]:
    [folder] = (out / "drafts").iterdir()
    data: dict[str, Any] = json.loads((folder / "article.json").read_text())
    return data


def test_impossible_citations_are_removed_and_every_bullet_flagged(
    staffed_home: Path, openai_server: ScriptedOpenAIServer, llm_env: Callable[..., None]
) -> None:
    llm_env(openai_server)
    impossible = [[99], [0], [-3, 1000000], [2**40]]
    openai_server.default = Reply.tool_call("Draft", draft_args(impossible))
    tally.count("faults injected: impossible citations", 5)
    result = press(["draft", REFERENCE_QUESTION, "--llm", "--as", "ann"])
    said = " ".join(result.stderr.split())
    assert result.exit_code == 1 and "cites no evidence number" in said  # after one repair
    article = stored_article(staffed_home)
    bullets = article["draft"]["sections"][0]["bullets"]
    assert [b["citations"] for b in bullets] == [[]] * 4
    assert article["references"] == []
    bullet_checks = [c for c in article["checks"] if c["field"] == "bullet"]
    assert [(c["flagged"], c["reason"]) for c in bullet_checks] == [(True, "no citation")] * 4
    # With nothing cited, the other fields' claims have no support either.
    prose = [c for c in article["checks"] if c["field"] != "bullet"]
    assert prose and all(c["flagged"] for c in prose)
    assert article["removed_markers"] == 5 and article["status"] == "failed"
    tally.count("faults survived: impossible citations", 5)


@pytest.mark.parametrize(
    ("name", "reply"),
    [
        ("10k bullets", Reply.tool_call("Draft", draft_args([[1]] * 10_000))),
        (
            "5 MB headline",
            Reply.tool_call("Draft", {**draft_args([[1]]), "headline": "x" * 5_000_000}),
        ),
        ("5 MB of prose", Reply.text("IVIG works. " * 420_000)),
    ],
)
def test_enormous_replies_are_refused_quickly(
    staffed_home: Path,
    make_openai_server: Callable[..., ScriptedOpenAIServer],
    llm_env: Callable[..., None],
    name: str,
    reply: Reply,
) -> None:
    server = make_openai_server(stream_chunk_chars=1 << 16, default=reply)
    llm_env(server)
    tally.count("faults injected: enormous reply")
    result = press(["draft", REFERENCE_QUESTION, "--llm", "--as", "ann"])
    assert result.exit_code == 1, (name, result.stderr, result.exception)
    assert "error:" in result.stderr and "hint:" in result.stderr
    assert json.loads(ok(["status", "--json"]).stdout) == []
    assert not (staffed_home / "drafts").exists()
    tally.count("faults survived: enormous reply")


def test_a_revision_whose_citations_do_not_resolve_is_never_published(
    staffed_home: Path, tmp_path: Path
) -> None:
    """A harness storing an unchecked article through the API still cannot publish it."""
    from pipeline.models.article import Bullet
    from pipeline.settings.load import load_settings
    ok(["draft", REFERENCE_QUESTION, "--no-llm", "--as", "ann"])
    [article] = json.loads(ok(["status", "--json"]).stdout)
    slug = article["slug"]
    flow = Workflow(Store.from_settings(load_settings()))
    current = flow.current_revision(slug)
    forged = current.article()
    forged.draft.sections[0].bullets.append(Bullet(text="Cites a missing source.", citations=[42]))
    for name in forged.provenance.placeholders:  # past the publish gate's placeholder check
        setattr(forged.draft, name, f"Written {name}.")
    flow.revise("ann", slug, forged, current.evidence(), based_on=current.number)
    for args in (["submit", slug, "--as", "ann"], ["review", slug, "--as", "rex"]):
        ok(args)
    acknowledge_flags(flow, slug)
    ok(["approve", slug, "--as", "rex"])
    tally.count("faults injected: unverified publish attempt")
    result = press(["publish", slug, "--as", "pam"])
    assert result.exit_code == 1
    assert "[42]" in " ".join(result.stderr.split())
    assert json.loads(ok(["status", slug, "--json"]).stdout)["published_revision"] is None
    assert not (staffed_home / "site" / "articles" / f"{slug}.html").exists()
    tally.count("faults survived: unverified publish attempt")
