"""The LLM drafting chain: evidence → prompt → chat model (forced ``Draft`` tool call) → Draft.

Design points:

* Evidence goes into the prompt as delimited data (``<evidence number=…>`` blocks) with
  ``<`` and ``>`` inside documents escaped, so a document cannot close its block or forge
  another; the system prompt says text inside evidence is never an instruction. Whatever
  a model does anyway, the citation check afterwards removes numbers that resolve to nothing.
* Structured output is negotiated per endpoint (:mod:`pipeline.draft.structured`): a named
  tool call, ``tool_choice: "required"``, ``response_format`` with the house JSON schema, or
  plain JSON read leniently; the schema requires sections, cited bullets and a verdict, and
  every request carries ``max_tokens``. A reply is validated here, then checked against the
  house format; what it misses is listed to the model in one repair turn, and a reply that
  still misses it raises :class:`DraftFailed`, which is stored as *failed — needs redraft*.
* Calls go through :func:`pipeline.draft.transport.call_model`: streamed under the stream
  deadline (cancelling closes the connection), every timeout reported as itself, token
  usage summed over all calls and counted locally when the server reports none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from pydantic import ValidationError

from pipeline.draft.llm import usage_cost
from pipeline.draft.prompts import PromptTemplate, load_prompt
from pipeline.draft.prompts import prompts_dir as prompts_dir_of
from pipeline.draft.structured import (
    TOOL_NAME,
    Mode,
    ModeMemory,
    extract_json,
    house_violations,
    limits,
    next_mode,
    normalize_verdict,
    response_format,
    tool_spec,
    unwrap,
)
from pipeline.draft.transport import (
    HINT,
    MAX_DRAFT_CHARS,
    Progress,
    call_model,
)
from pipeline.errors import DraftError, DraftFailed, ModeRejected
from pipeline.models.article import Audience, Draft, Usage
from pipeline.models.corpus import EvidenceLevel
from pipeline.models.evidence import EvidenceSet
from pipeline.settings.drafting import LLMSettings


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
    """Drafts an article with a chat model; the model is passed in (tests pass fakes).

    ``memory`` remembers the structured-output mode per endpoint (see
    :mod:`pipeline.draft.structured`); ``on_progress`` hears streamed progress.
    """

    def __init__(
        self,
        llm: BaseChatModel,
        settings: LLMSettings,
        *,
        stream: bool = True,
        prompts_dir: Path | None = None,
        memory: ModeMemory | None = None,
        on_progress: Progress | None = None,
    ) -> None:
        self.llm = llm
        self.settings = settings
        self.stream = stream
        #: Where the prompts came from, as provenance records it: the ``prompts.dir`` folder,
        #: or ``packaged`` for the set shipped with the program (its path differs per install).
        self.prompts_source = str(prompts_dir_of(prompts_dir)) if prompts_dir else "packaged"
        self.memory = memory or ModeMemory()
        self.on_progress = on_progress
        self.prompt = load_prompt("draft_article", prompts_dir)
        self.repair = load_prompt("repair_draft", prompts_dir)
        self.replies = {
            name: load_prompt(f"reply_{name}", prompts_dir) for name in ("tool", "json")
        }
        self.audiences: dict[str, PromptTemplate] = {
            name: load_prompt(f"audience_{name}", prompts_dir) for name in ("clinician", "patient")
        }
        self.mode: Mode = "tool"

    @property
    def prompt_versions(self) -> dict[str, str]:
        """{prompt name: version} of every prompt this drafter uses."""
        prompts = [self.prompt, self.repair, *self.replies.values(), *self.audiences.values()]
        return {p.name: p.version for p in prompts}

    @property
    def endpoint(self) -> str:
        """The mode-memory key of this drafter's endpoint (base URL + model)."""
        base = getattr(self.llm, "openai_api_base", None) or self.settings.base_url
        model = getattr(self.llm, "model_name", None) or self.settings.model
        return ModeMemory.key(base, str(model))

    def messages(
        self, question: str, evidence: EvidenceSet, audience: Audience, mode: Mode = "tool"
    ) -> list[BaseMessage]:
        """The chat messages of the first drafting call (the reply format follows ``mode``)."""
        return self.prompt.render(
            # Escaped like the evidence, so a question cannot forge an <evidence> block either.
            question=_escape(question),
            audience_guidance=self.audiences[audience].render_text(),
            evidence=format_evidence(evidence),
            evidence_numbers=", ".join(str(i.number) for i in evidence.items) or "(none)",
            reply_format=self._reply_format(mode),
        )

    def draft(
        self, question: str, evidence: EvidenceSet, audience: Audience = "clinician"
    ) -> tuple[Draft, Usage]:
        """Draft in the strongest mode the endpoint honours, repairing once.

        Raises :class:`DraftFailed` (a DraftError) with the exact violations when the
        reply still misses the house format after the repair round, and DraftError when
        the endpoint fails.
        """
        usage = Usage()
        numbers = {item.number for item in evidence.items}
        reply, messages = self._negotiate(question, evidence, audience, usage)
        draft, problems = self._check(reply, question, numbers)
        if problems:
            messages = [*messages, reply, *_tool_answers(reply, "; ".join(problems))]
            messages.extend(
                self.repair.render(
                    error=_bulleted(problems), reply_format=self._reply_format(self.mode)
                )
            )
            reply = self._call(self._bind(self.mode), messages, usage)
            second, problems = self._check(reply, question, numbers)
            draft = second or draft
            if problems:
                usage.cost = usage_cost(usage, self.settings)
                raise DraftFailed(
                    "The model's reply missed the house format twice: " + "; ".join(problems),
                    "Stored as failed — needs redraft. Redraft (a larger model, a smaller "
                    "PRESS_RETRIEVAL__TOKEN_BUDGET), edit it by hand, or draft with --no-llm.",
                    problems,
                    draft,
                    usage,
                )
        assert draft is not None
        usage.cost = usage_cost(usage, self.settings)
        return normalize_verdict(draft, question), usage

    def _negotiate(
        self, question: str, evidence: EvidenceSet, audience: Audience, usage: Usage
    ) -> tuple[AIMessage, list[BaseMessage]]:
        """The first reply, in the remembered mode or the next one the endpoint accepts."""
        key = self.endpoint
        # llama.cpp's server ignores a forced tool call (its own lane starts at the schema).
        start: Mode = "json_schema" if self.settings.provider == "local" else "tool"
        mode: Mode | None = self.memory.get(key, start)
        rejected: list[str] = []
        while mode is not None:
            messages = self.messages(question, evidence, audience, mode)
            try:
                reply = self._call(self._bind(mode), messages, usage, negotiating=True)
            except ModeRejected as refusal:
                rejected.append(f"{mode}: {refusal.message}")
                mode = next_mode(mode)
                continue
            self.mode = mode
            if mode.startswith("tool") and not (reply.tool_calls or reply.invalid_tool_calls):
                # The server accepted tool_choice but ignored it: later drafts ask for the
                # schema as response_format instead (the reply at hand is parsed leniently).
                self.memory.set(key, "json_schema")
            else:
                self.memory.set(key, mode)
            return reply, messages
        raise DraftError(
            "The model endpoint rejected every structured-output mode: " + " | ".join(rejected),
            _HINT,
        )

    def _check(
        self, reply: AIMessage, question: str, numbers: set[int]
    ) -> tuple[Draft | None, list[str]]:
        draft, problem = parse_reply(reply)
        if draft is None:
            return None, [problem]
        return draft, house_violations(draft, question, numbers)

    @property
    def compact(self) -> bool:
        """Short articles (tighter list bounds) for a small local model."""
        return self.settings.provider == "local"

    def _reply_format(self, mode: Mode) -> str:
        sections, bullets, related = limits(self.compact)
        prompt = self.replies["tool" if mode.startswith("tool") else "json"]
        return prompt.render_text(
            max_sections=str(sections), max_bullets=str(bullets), max_related=str(related)
        )

    def _bind(self, mode: Mode) -> Any:
        """The chat model bound for ``mode``, with max_tokens set."""
        model: Any = self.llm
        try:
            if mode == "tool":
                model = self.llm.bind_tools([tool_spec(self.compact)], tool_choice=TOOL_NAME)
            elif mode == "tool_required":
                model = self.llm.bind_tools([tool_spec(self.compact)], tool_choice="required")
        except NotImplementedError:
            model = self.llm
        if mode == "json_schema":
            model = model.bind(response_format=response_format(self.compact))
        return model.bind(max_tokens=self.settings.max_tokens)

    def _call(
        self,
        model: Any,
        messages: list[BaseMessage],
        usage: Usage,
        *,
        negotiating: bool = False,
    ) -> AIMessage:
        try:
            return call_model(
                model,
                messages,
                self.settings,
                usage,
                stream=self.stream,
                negotiating=negotiating,
                on_progress=self.on_progress,
            )
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


_HINT = HINT


def _bulleted(problems: list[str]) -> str:
    return "\n".join(f"- {p}" for p in problems)


def parse_reply(reply: AIMessage) -> tuple[Draft | None, str]:
    """The Draft in a reply (tool call, or JSON content), or None and what was wrong."""
    candidates: list[Any] = [call["args"] for call in reply.tool_calls]
    problems = [
        f"malformed function arguments ({call.get('error') or 'invalid JSON'})"
        for call in reply.invalid_tool_calls
    ]
    candidates = [unwrap(c) if isinstance(c, dict) else c for c in candidates]
    text = _text(reply.content)
    if not candidates and text.strip():
        found = extract_json(text)
        if found is None:
            problems.append(
                f"the reply was text, not a Draft (no JSON object in {_clip(text)!r}); "
                "reply with the Draft JSON only"
            )
        else:
            candidates.append(found)
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


def _text(content: Any) -> str:
    """A message's content as text (string, or content parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p if isinstance(p, str) else str(p.get("text", "")) for p in content)
    return ""


def _clip(text: str, size: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"


def _tool_answers(reply: AIMessage, problem: str) -> list[BaseMessage]:
    ids = [c["id"] for c in reply.tool_calls] + [c["id"] for c in reply.invalid_tool_calls]
    answers: list[BaseMessage] = [
        ToolMessage(content=f"error: {problem}", tool_call_id=i) for i in ids if i
    ]
    return answers or [HumanMessage(content=f"error: {problem}")]
