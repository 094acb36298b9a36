"""The LLM drafting chain: evidence → prompt → chat model (forced ``Draft`` tool call) → Draft.

Design points:

* Evidence goes into the prompt as delimited data (``<evidence number=…>`` blocks) with
  ``<`` and ``>`` inside documents escaped, so a document cannot close its block or forge
  another; the system prompt says text inside evidence is never an instruction. Whatever
  a model does anyway, the citation check afterwards removes numbers that resolve to nothing.
* Structured output is a forced function call whose schema is the pydantic ``Draft``; the
  arguments are validated here, so a schema violation is an error value we can repair,
  not an exception inside the SDK. One repair turn is allowed, then :class:`DraftError`
  names the cause.
* The call is streamed (or not, ``stream=False``) inside ``asyncio.wait_for`` with the
  stream deadline: cancelling the task closes the HTTP connection, so a server that stalls
  mid-stream cannot hold a draft forever. Token usage is summed over all calls.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from pydantic import ValidationError

from pipeline.draft.llm import run_with_deadline, usage_cost
from pipeline.errors import DraftError
from pipeline.models import Audience, Draft, EvidenceLevel, EvidenceSet, Usage
from pipeline.prompts import PromptTemplate, load_prompt
from pipeline.prompts import prompts_dir as prompts_dir_of
from pipeline.settings import LLMSettings


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def format_evidence(evidence: EvidenceSet) -> str:
    """Render the evidence set as numbered, delimited data blocks for the prompt."""
    blocks = []
    for item in evidence.items:
        citation = item.citation
        level = (citation.evidence_level or EvidenceLevel.OTHER).label
        head = f'<evidence number="{item.number}" level="{level}" year="{citation.year or "n.d."}">'
        body = "\n".join(_escape(p.passage.text) for p in item.passages)
        blocks.append(f"{head}\nTitle: {_escape(citation.title)}\n{body}\n</evidence>")
    return "\n\n".join(blocks) if blocks else "(no evidence was retrieved)"


class LLMDrafter:
    """Drafts an article with a chat model; the model is passed in (tests pass fakes)."""

    def __init__(
        self,
        llm: BaseChatModel,
        settings: LLMSettings,
        *,
        stream: bool = True,
        prompts_dir: Path | None = None,
    ) -> None:
        self.llm = llm
        self.settings = settings
        self.stream = stream
        #: Where the prompts came from, as provenance records it: the ``prompts.dir`` folder,
        #: or ``packaged`` for the set shipped with the program (its path differs per install).
        self.prompts_source = str(prompts_dir_of(prompts_dir)) if prompts_dir else "packaged"
        self.prompt = load_prompt("draft_article", prompts_dir)
        self.repair = load_prompt("repair_draft", prompts_dir)
        self.audiences: dict[str, PromptTemplate] = {
            name: load_prompt(f"audience_{name}", prompts_dir) for name in ("clinician", "patient")
        }

    @property
    def prompt_versions(self) -> dict[str, str]:
        """{prompt name: version} of every prompt this drafter uses."""
        prompts = [self.prompt, self.repair, *self.audiences.values()]
        return {p.name: p.version for p in prompts}

    def messages(
        self, question: str, evidence: EvidenceSet, audience: Audience
    ) -> list[BaseMessage]:
        """The chat messages of the first drafting call."""
        return self.prompt.render(
            # Escaped like the evidence, so a question cannot forge an <evidence> block either.
            question=_escape(question),
            audience_guidance=self.audiences[audience].render_text(),
            evidence=format_evidence(evidence),
            evidence_numbers=", ".join(str(i.number) for i in evidence.items) or "(none)",
        )

    def draft(
        self, question: str, evidence: EvidenceSet, audience: Audience = "clinician"
    ) -> tuple[Draft, Usage]:
        """Draft, repairing an invalid reply once; raises DraftError with the cause."""
        usage = Usage()
        messages = self.messages(question, evidence, audience)
        model = self._with_tool()
        reply = self._call(model, messages, usage)
        draft, problem = parse_reply(reply)
        if draft is None:
            messages = [*messages, reply, *_tool_answers(reply, problem)]
            messages.extend(self.repair.render(error=problem))
            reply = self._call(model, messages, usage)
            draft, second = parse_reply(reply)
            if draft is None:
                raise DraftError(
                    f"The model's reply did not match the Draft schema twice: {second}",
                    "Use a model that supports function calling (tools), or draft with --no-llm.",
                )
        usage.cost = usage_cost(usage, self.settings)
        return draft, usage

    def _with_tool(self) -> Any:
        try:
            return self.llm.bind_tools([Draft], tool_choice="Draft")
        except NotImplementedError:
            return self.llm

    def _call(self, model: Any, messages: list[BaseMessage], usage: Usage) -> AIMessage:
        try:
            return self._call_endpoint(model, messages, usage)
        except DraftError as error:
            # A proxy may echo the key (or the URL with its password) in an error body.
            message = error.message
            for secret in self._secrets():
                message = message.replace(secret, "***")
            if message == error.message:
                raise
            raise DraftError(message, error.hint) from None

    def _secrets(self) -> list[str]:
        key = self.settings.api_key.get_secret_value() if self.settings.api_key else ""
        url = self.settings.base_url or ""
        password = url.partition("://")[2].partition("@")[0].partition(":")[2] if "@" in url else ""
        return [s for s in (key, password) if len(s) >= 4]

    def _call_endpoint(self, model: Any, messages: list[BaseMessage], usage: Usage) -> AIMessage:
        async def consume() -> AIMessage:
            if not self.stream:
                result: AIMessage = await model.ainvoke(messages)
                return result
            merged: Any = None
            received = 0
            async for chunk in model.astream(messages):
                # Stop a runaway reply early: merging chunks re-parses the partial tool
                # arguments each time, so a multi-megabyte reply would take minutes.
                received += len(str(chunk.content)) + sum(
                    len(c.get("args") or "") for c in getattr(chunk, "tool_call_chunks", [])
                )
                if received > MAX_REPLY_CHARS:
                    raise DraftError(
                        f"The model's reply ran past {MAX_REPLY_CHARS:,} characters; "
                        "an article is a few thousand",
                        "Check the model and server (a runaway generation), or draft "
                        "with --no-llm.",
                    )
                merged = chunk if merged is None else merged + chunk
            if merged is None:
                raise DraftError("The model's stream ended without any content", _HINT)
            return AIMessage(
                content=merged.content,
                tool_calls=getattr(merged, "tool_calls", []),
                invalid_tool_calls=getattr(merged, "invalid_tool_calls", []),
                usage_metadata=getattr(merged, "usage_metadata", None),
                id=merged.id,
            )

        try:
            reply = run_with_deadline(consume(), self.settings.stream_deadline_s)
        except TimeoutError as exc:
            raise DraftError(
                f"The model did not finish its reply within {self.settings.stream_deadline_s:g} s",
                "Raise PRESS_LLM__STREAM_DEADLINE_S, or check the server's load.",
            ) from exc
        except openai.APITimeoutError as exc:
            raise DraftError(
                f"The model endpoint sent nothing for {self.settings.timeout_s:g} s", _HINT
            ) from exc
        except openai.RateLimitError as exc:
            raise DraftError(
                f"The model endpoint kept answering 429 (rate limited) after "
                f"{self.settings.max_retries} retries",
                "Wait and retry, lower the build concurrency, or raise PRESS_LLM__MAX_RETRIES.",
            ) from exc
        except openai.APIStatusError as exc:
            raise DraftError(
                f"The model endpoint answered HTTP {exc.status_code}: {exc.message}", _HINT
            ) from exc
        except openai.APIConnectionError as exc:
            raise DraftError(f"Cannot reach the model endpoint: {exc}", _HINT) from exc
        except openai.APIError as exc:
            raise DraftError(f"The model endpoint's reply was unusable: {exc}", _HINT) from exc
        except (ValueError, TypeError) as exc:
            # The SDK lets a 200 with a truncated or non-JSON body escape as a bare
            # JSONDecodeError/ValueError/TypeError instead of an APIError.
            raise DraftError(
                f"The model endpoint sent a malformed response body: {exc}", _HINT
            ) from exc
        usage.calls += 1
        if reply.usage_metadata:
            usage.prompt_tokens += reply.usage_metadata.get("input_tokens", 0)
            usage.completion_tokens += reply.usage_metadata.get("output_tokens", 0)
        return reply


_HINT = "Check PRESS_LLM__BASE_URL / OPENAI_BASE_URL and the server, or draft with --no-llm."


def parse_reply(reply: AIMessage) -> tuple[Draft | None, str]:
    """The Draft in a reply (tool call, or JSON content), or None and what was wrong."""
    candidates: list[Any] = [call["args"] for call in reply.tool_calls]
    problems = [
        f"malformed function arguments ({call.get('error') or 'invalid JSON'})"
        for call in reply.invalid_tool_calls
    ]
    if not candidates and not problems and isinstance(reply.content, str) and reply.content.strip():
        try:
            candidates.append(json.loads(reply.content))
        except json.JSONDecodeError:
            problems.append("the reply was text, not a Draft function call")
    for args in candidates:
        try:
            draft = Draft.model_validate(args)
        except ValidationError as exc:
            fields = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}"
                for e in exc.errors()[:5]
            )
            problems.append(f"schema violation: {fields}")
            continue
        too_large = _size_problem(draft)
        if not too_large:
            return draft, ""
        problems.append(too_large)
    return None, "; ".join(problems) or "the reply contained no Draft function call"


# A house-format article has a few sections of a few bullets (a few kB). A reply far past
# these bounds is a runaway model; checking its citations would embed every bullet (minutes
# for 10k bullets) and store a page no reviewer can read, so it is refused like a schema error.
MAX_DRAFT_BULLETS = 200
MAX_DRAFT_CHARS = 100_000
MAX_REPLY_CHARS = 2 * MAX_DRAFT_CHARS  # a streamed reply is cut off past this


def _size_problem(draft: Draft) -> str:
    """Why ``draft`` is implausibly large for one article, or "" when it is not."""
    bullets = sum(len(section.bullets) for section in draft.sections)
    chars = len(draft.model_dump_json())
    if bullets <= MAX_DRAFT_BULLETS and chars <= MAX_DRAFT_CHARS:
        return ""
    return (
        f"the Draft is implausibly large ({bullets} bullets, {chars:,} characters; an article "
        f"has at most {MAX_DRAFT_BULLETS} bullets and {MAX_DRAFT_CHARS:,} characters)"
    )


def _tool_answers(reply: AIMessage, problem: str) -> list[BaseMessage]:
    ids = [c["id"] for c in reply.tool_calls] + [c["id"] for c in reply.invalid_tool_calls]
    answers: list[BaseMessage] = [
        ToolMessage(content=f"error: {problem}", tool_call_id=i) for i in ids if i
    ]
    return answers or [HumanMessage(content=f"error: {problem}")]
