"""Each failure seen against llama.cpp's server and a 1.5B model, reproduced by the scripted
server, and caught: mode negotiation, the lenient extractor, the house-format repair round,
failed revisions, abstention, max_tokens, local token counts and honest timeout messages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_openai import ChatOpenAI

from pipeline.draft.chain import LLMDrafter, parse_reply
from pipeline.draft.engine import draft_article
from pipeline.draft.structured import ModeMemory, draft_schema, extract_json, house_violations
from pipeline.errors import DraftError, DraftFailed
from pipeline.index.hybrid import Index
from pipeline.models.article import Draft
from pipeline.models.corpus import Citation, Passage
from pipeline.models.evidence import Evidence, EvidenceSet, ScoredPassage
from pipeline.settings.drafting import LLMSettings
from pipeline.settings.load import Settings
from tests.support.demo_index import REFERENCE_QUESTION
from tests.support.openai_server import Reply, ScriptedOpenAIServer

YES_NO = "Does treatment reduce stiffness?"
LLAMA_CPP_TOOL_CHOICE = "Wrong type supplied for parameter 'tool_choice'"


def _evidence(n: int = 4) -> EvidenceSet:
    items = []
    for i in range(1, n + 1):
        text = f"Study {i} found that treatment {i} reduced stiffness in adults."
        citation = Citation(id=f"pmid:{2000 + i}", title=f"Trial {i}", year=2021)
        passage = Passage(citation_id=citation.id, text=text, token_count=12)
        scored = ScoredPassage(passage=passage, citation=citation, score=1.0)
        items.append(Evidence(number=i, citation=citation, passages=[scored]))
    return EvidenceSet(question=YES_NO, items=items)


def _args(citations: list[list[int]] | None = None, **changes: Any) -> dict[str, Any]:
    citations = [[1], [2]] if citations is None else citations
    args: dict[str, Any] = {
        "headline": "Treatment Reduces Stiffness",
        "summary": "Trials show reduced stiffness.",
        "sections": [
            {
                "heading": "Trial Evidence",
                "bullets": [
                    {"text": f"Treatment reduced stiffness in trial {i}.", "citations": c}
                    for i, c in enumerate(citations, 1)
                ],
            }
        ],
        "bottom_line": "Treatment helps.",
        "related_questions": ["What dose is used?"],
        "insufficient_evidence": False,
        "verdict": "yes",
    }
    args.update(changes)
    return args


def _chat(server: ScriptedOpenAIServer, **options: Any) -> ChatOpenAI:
    return ChatOpenAI(
        model="test-model",
        base_url=server.base_url,
        api_key="test",  # type: ignore[arg-type]
        timeout=5.0,
        max_retries=0,
        stream_usage=True,
        **options,
    )


def _drafter(server: ScriptedOpenAIServer, **llm: Any) -> LLMDrafter:
    settings = LLMSettings(base_url=server.base_url, model="test-model", max_retries=0, **llm)
    chunk_timeout = settings.stream_chunk_timeout_s
    return LLMDrafter(_chat(server, stream_chunk_timeout=chunk_timeout), settings)


@pytest.fixture(autouse=True)
def _fresh_memory() -> None:
    ModeMemory.forget_all()


# ------------------------------------------------------------------ mode negotiation


def test_object_tool_choice_rejected_falls_back_and_is_remembered(
    openai_server: ScriptedOpenAIServer,
) -> None:
    openai_server.rejected_parameters = {"tool_choice:object": LLAMA_CPP_TOOL_CHOICE}
    openai_server.enqueue(Reply.tool_call("Draft", _args()), Reply.tool_call("Draft", _args()))
    draft, _ = _drafter(openai_server).draft(YES_NO, _evidence())
    assert draft.verdict == "yes"
    bodies = [r.body for r in openai_server.requests]
    assert isinstance(bodies[0]["tool_choice"], dict)  # the named call was tried first
    assert bodies[1]["tool_choice"] == "required"
    _drafter(openai_server).draft(YES_NO, _evidence())  # the next draft starts there
    assert openai_server.requests[-1].body["tool_choice"] == "required"
    assert len(openai_server.requests) == 3


def test_ignored_tool_choice_markdown_then_wrapped_doubled_braces(
    openai_server: ScriptedOpenAIServer,
) -> None:
    """xllamacpp: tool_choice ignored, a Markdown answer, then {{"name":"Draft",...}}."""
    wrapped = "{" + json.dumps({"name": "Draft", "arguments": _args()}) + "}"
    openai_server.enqueue(
        Reply.text("## IVIG\n\n**Yes.** IVIG helps stiff-person syndrome."),
        Reply.text(wrapped),
        Reply.json_content(_args()),
    )
    drafter = _drafter(openai_server)
    draft, usage = drafter.draft(YES_NO, _evidence())
    assert draft.sections[0].bullets[0].citations == [1] and usage.calls == 2
    repair = openai_server.requests[1].body["messages"][-1]["content"]
    assert "text, not a Draft" in repair and "JSON object" in repair
    # The server ignored tool_choice: the next draft asks for the schema as response_format.
    drafter.draft(YES_NO, _evidence())
    body = openai_server.requests[2].body
    assert body["response_format"]["type"] == "json_schema" and "tools" not in body


@pytest.mark.parametrize(
    "text",
    [
        "```json\n" + json.dumps(_args()) + "\n```",
        "<tool_call>\n" + json.dumps({"name": "Draft", "arguments": _args()}) + "\n</tool_call>",
        json.dumps({"name": "Draft", "arguments": json.dumps(_args())}),
        "Here is the article:\n" + json.dumps(_args()) + "\nHope this helps.",
        "{" + json.dumps(_args()) + "}",
    ],
    ids=["code-fence", "tool_call-tag", "string-arguments", "prose-around", "doubled-braces"],
)
def test_lenient_extractor_reads_what_small_models_send(text: str) -> None:
    assert extract_json(text) == _args()
    draft, problem = parse_reply(AIMessage(text))
    assert draft is not None and problem == ""


# ------------------------------------------------------------------ the house format


def test_schema_requires_what_the_house_format_requires() -> None:
    schema = draft_schema()
    assert set(schema["required"]) >= {"sections", "verdict", "related_questions"}
    sections = schema["properties"]["sections"]
    bullets = sections["items"]["properties"]["bullets"]
    citations = bullets["items"]["properties"]["citations"]
    assert sections["minItems"] == 1 and sections["maxItems"] >= sections["minItems"]
    assert bullets["minItems"] == 1 and citations["minItems"] == 1
    assert schema["properties"]["related_questions"]["maxItems"] <= 6


def test_every_request_sets_max_tokens(openai_server: ScriptedOpenAIServer) -> None:
    openai_server.enqueue(Reply.tool_call("Draft", _args()))
    _drafter(openai_server, max_tokens=321).draft(YES_NO, _evidence())
    body = openai_server.requests[-1].body
    assert (body.get("max_completion_tokens") or body.get("max_tokens")) == 321


@pytest.mark.parametrize(
    ("first", "words"),
    [
        (_args(sections=[]), "no sections"),
        (_args(verdict=None), "verdict is missing"),
        (_args([[], []]), "cites no evidence number"),
        (_args([[9]]), "cites no evidence number from [1, 2, 3, 4]"),
    ],
    ids=["empty-sections", "null-verdict", "no-cited-bullet", "only-invented-numbers"],
)
def test_a_reply_missing_the_house_format_gets_one_repair_listing_it(
    openai_server: ScriptedOpenAIServer, first: dict[str, Any], words: str
) -> None:
    openai_server.enqueue(Reply.tool_call("Draft", first), Reply.tool_call("Draft", _args()))
    draft, usage = _drafter(openai_server).draft(YES_NO, _evidence())
    assert usage.calls == 2 and draft.verdict == "yes"
    assert words in openai_server.requests[-1].body["messages"][-1]["content"]


def test_still_missing_after_the_repair_raises_draft_failed(
    openai_server: ScriptedOpenAIServer,
) -> None:
    openai_server.default = Reply.tool_call("Draft", _args(sections=[], verdict=None))
    with pytest.raises(DraftFailed) as caught:
        _drafter(openai_server).draft(YES_NO, _evidence())
    assert any("no sections" in v for v in caught.value.violations)
    assert any("verdict is missing" in v for v in caught.value.violations)
    assert openai_server.chat_requests == 2


def test_house_violations_accept_an_abstention_and_a_non_yes_no_question() -> None:
    abstain = Draft.model_validate(_args(sections=[], insufficient_evidence=True, verdict=None))
    assert house_violations(abstain, "What is SPS?", {1}) == []
    assert house_violations(Draft.model_validate(_args(verdict=None)), "What is SPS?", {1, 2}) == []


def test_a_failed_draft_becomes_a_failed_article(
    openai_server: ScriptedOpenAIServer, demo_private_home: tuple[Settings, Index]
) -> None:
    settings, index = demo_private_home
    empty = _args(sections=[], verdict=None, headline="IVIG Not Medically Necessary")
    openai_server.default = Reply.tool_call("Draft", empty)
    run = draft_article(
        REFERENCE_QUESTION, settings=settings, index=index, llm=_chat(openai_server)
    )
    assert run.article.failure and any("no sections" in v for v in run.article.failure)


def test_an_answer_with_no_cited_bullet_is_an_abstention(
    openai_server: ScriptedOpenAIServer, demo_private_home: tuple[Settings, Index]
) -> None:
    """The model claims insufficient evidence but writes an uncited dose into the summary."""
    settings, index = demo_private_home
    uncited = _args(
        sections=[],
        insufficient_evidence=True,
        verdict="uncertain",
        summary="Give amoxicillin 10 mg/kg per day.",
        bottom_line="Amoxicillin 10 mg/kg per day is standard.",
    )
    openai_server.default = Reply.tool_call("Draft", uncited)
    run = draft_article(
        REFERENCE_QUESTION, settings=settings, index=index, llm=_chat(openai_server)
    )
    draft = run.article.draft
    assert draft.insufficient_evidence and not run.article.failure
    assert "amoxicillin" not in (draft.summary + draft.bottom_line + draft.headline).lower()


# ------------------------------------------------------------------ usage and timeouts


def test_tokens_are_counted_locally_when_the_server_reports_none(
    openai_server: ScriptedOpenAIServer,
) -> None:
    openai_server.report_usage = False
    openai_server.enqueue(Reply.tool_call("Draft", _args()))
    _, usage = _drafter(openai_server).draft(YES_NO, _evidence())
    assert usage.prompt_tokens > 100 and usage.completion_tokens > 20 and usage.counted_locally


def test_langchains_stream_chunk_timeout_is_reported_as_itself(
    openai_server: ScriptedOpenAIServer,
) -> None:
    openai_server.enqueue(Reply.stream_stall("partial", 30))
    drafter = _drafter(openai_server, stream_chunk_timeout_s=0.5, stream_deadline_s=20)
    with pytest.raises(DraftError) as caught:
        drafter.draft(YES_NO, _evidence())
    assert "stream chunk" in caught.value.message
    assert "PRESS_LLM__STREAM_CHUNK_TIMEOUT_S" in caught.value.hint
    assert "STREAM_DEADLINE" not in caught.value.hint
