"""LLMDrafter logic with langchain's fake chat models (no HTTP): parsing, repair, errors."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from pipeline.draft.chain import LLMDrafter, parse_reply
from pipeline.errors import DraftError
from pipeline.models.corpus import Citation
from pipeline.models.evidence import Evidence, EvidenceSet
from pipeline.settings.drafting import LLMSettings

ARGS: dict[str, Any] = {
    "headline": "H",
    "summary": "S",
    "sections": [{"heading": "A", "bullets": [{"text": "t", "citations": [1]}]}],
    "bottom_line": "B",
}


def _evidence() -> EvidenceSet:
    """One numbered source, so a bullet citing [1] meets the house format."""
    citation = Citation(id="pmid:1", title="Trial")
    return EvidenceSet(question="Q?", items=[Evidence(number=1, citation=citation, passages=[])])


def _tool_reply(args: Any, call_id: str = "c1") -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": "Draft", "args": args, "id": call_id}])


def _drafter(*replies: AIMessage, stream: bool = False) -> tuple[LLMDrafter, GenericFakeChatModel]:
    model = GenericFakeChatModel(messages=iter(replies))
    return LLMDrafter(model, LLMSettings(stream_deadline_s=5), stream=stream), model


def test_parse_reply_reads_a_tool_call() -> None:
    draft, problem = parse_reply(_tool_reply(ARGS))
    assert draft is not None and draft.headline == "H" and problem == ""


def test_parse_reply_accepts_json_content_from_servers_without_tools() -> None:
    draft, _ = parse_reply(
        AIMessage(content='{"headline": "H", "summary": "S", "bottom_line": "B"}')
    )
    assert draft is not None and draft.sections == []


def test_parse_reply_names_the_schema_violation() -> None:
    draft, problem = parse_reply(_tool_reply({"headline": "H"}))
    assert draft is None
    assert "summary" in problem and "schema violation" in problem


def test_parse_reply_on_plain_text() -> None:
    draft, problem = parse_reply(AIMessage(content="Sure! Here is an article."))
    assert draft is None and "text, not a Draft" in problem


def test_fake_model_draft_without_repair() -> None:
    drafter, _ = _drafter(_tool_reply(ARGS))
    draft, usage = drafter.draft("Q?", _evidence())
    assert draft.sections[0].bullets[0].citations == [1]
    assert usage.calls == 1


def test_fake_model_invalid_then_valid_uses_one_repair() -> None:
    drafter, _ = _drafter(_tool_reply({"headline": "H"}), _tool_reply(ARGS, "c2"))
    draft, usage = drafter.draft("Q?", _evidence())
    assert draft.headline == "H" and usage.calls == 2


def test_fake_model_invalid_twice_raises_with_cause() -> None:
    drafter, _ = _drafter(_tool_reply({"headline": "H"}), _tool_reply({"summary": "S"}, "c2"))
    with pytest.raises(DraftError, match="missed the house format twice: schema violation"):
        drafter.draft("Q?", _evidence())


def test_prompt_versions_are_recorded() -> None:
    drafter, _ = _drafter(_tool_reply(ARGS))
    assert drafter.prompt_versions["draft_article"] == "2"
    assert set(drafter.prompt_versions) >= {"repair_draft", "audience_patient"}
