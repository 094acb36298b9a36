"""Structured output that works on the servers people run, and the house format checked on it.

Why this module exists: a forced, named tool call is the strongest way to get a ``Draft``
from a model, but servers honour it unevenly. llama.cpp's own server rejects the object form
of ``tool_choice`` ("Wrong type supplied for parameter 'tool_choice'"), small models then
answer in Markdown, and a repair turn may come back as ``{{"name": "Draft", "arguments":
{…}}}``. So drafting negotiates a *mode* per endpoint, strongest first:

``tool``          named tool call (``tool_choice`` = the Draft function)
``tool_required`` ``tool_choice: "required"`` with the single Draft tool
``json_schema``   ``response_format`` with the house JSON schema (grammar-constrained on
                  llama.cpp)
``json``          no constraint: the prompt asks for JSON and :func:`extract_json` is lenient

A mode the endpoint rejects (HTTP 400/422, or an error naming the parameter) is skipped; a
tool mode whose reply carries no tool call at all (the server ignored ``tool_choice``)
demotes the endpoint to ``json_schema`` for later drafts. The chosen mode is remembered per
endpoint (base URL + model) by :class:`ModeMemory`, in memory and optionally in a JSON file
under the home folder.

Every reply, whatever the mode, goes through :func:`extract_json` (code fences,
``<tool_call>`` tags, a ``{"name", "arguments"}`` wrapper, doubled braces, prose around the
object) and then :func:`house_violations`, which lists exactly what the house format misses
(no sections, a section without bullets, a bullet without a citation, no verdict on a
yes/no question). The schema itself (:func:`draft_schema`) requires the same things, so a
grammar-constrained server cannot produce the empty drafts the loose pydantic schema allowed.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit, urlunsplit

from pipeline import atomic
from pipeline.models.article import Draft
from pipeline.text import is_yes_no_question

Mode = Literal["tool", "tool_required", "json_schema", "json"]
MODES: tuple[Mode, ...] = ("tool", "tool_required", "json_schema", "json")
"""Structured-output modes, strongest first."""

TOOL_NAME = "Draft"

# House-format bounds (the prompt asks for 3–5 sections and 3–6 related questions; the
# schema is a little looser so a short honest answer still fits).
MAX_SECTIONS = 5
MAX_BULLETS = 6
MAX_CITATIONS = 6
MAX_RELATED = 6


def draft_schema(compact: bool = False) -> dict[str, Any]:
    """The JSON schema of a house-format Draft: every field required, lists bounded.

    Used as the tool's parameters and as ``response_format``. Unlike the pydantic model
    (which also has to hold abstentions and hand edits), it demands at least one section,
    at least one bullet per section, at least one citation per bullet and a verdict.
    ``compact`` (small local models) bounds the lists tighter: a short article is written
    in a third of the time, and a small model cannot loop on related questions.
    """
    sections_max, bullets_max, related_max = limits(compact)
    text = {"type": "string", "minLength": 1}
    bullet = {
        "type": "object",
        "properties": {
            "text": {**text, "maxLength": 400},
            "citations": {
                "type": "array",
                "items": {"type": "integer", "minimum": 1},
                "minItems": 1,
                "maxItems": MAX_CITATIONS,
            },
        },
        "required": ["text", "citations"],
        "additionalProperties": False,
    }
    section = {
        "type": "object",
        "properties": {
            "heading": {**text, "maxLength": 80},
            "bullets": {"type": "array", "items": bullet, "minItems": 1, "maxItems": bullets_max},
        },
        "required": ["heading", "bullets"],
        "additionalProperties": False,
    }
    properties: dict[str, Any] = {
        "headline": {**text, "maxLength": 150},
        "summary": {**text, "maxLength": 800},
        "sections": {
            "type": "array",
            "items": section,
            "minItems": 1,
            "maxItems": sections_max,
        },
        "bottom_line": {**text, "maxLength": 600},
        "verdict": {"type": "string", "enum": ["yes", "no", "maybe", "uncertain"]},
        "insufficient_evidence": {"type": "boolean"},
        "related_questions": {
            "type": "array",
            "items": {**text, "maxLength": 200},
            "minItems": 0,
            "maxItems": related_max,
        },
    }
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def limits(compact: bool = False) -> tuple[int, int, int]:
    """(most sections, most bullets per section, most related questions)."""
    return (3, 2, 2) if compact else (MAX_SECTIONS, MAX_BULLETS, MAX_RELATED)


def tool_spec(compact: bool = False) -> dict[str, Any]:
    """The Draft function in OpenAI tool format, with :func:`draft_schema` as parameters."""
    return {
        "type": "function",
        "function": {
            "name": TOOL_NAME,
            "description": "The house-format article: headline, summary, sections of cited "
            "bullets, bottom line, verdict and related questions.",
            "parameters": draft_schema(compact),
        },
    }


def response_format(compact: bool = False) -> dict[str, Any]:
    """``response_format`` asking for :func:`draft_schema` (OpenAI / llama.cpp form)."""
    return {
        "type": "json_schema",
        "json_schema": {"name": TOOL_NAME, "schema": draft_schema(compact), "strict": True},
    }


# --------------------------------------------------------------------------- extraction

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
_TOOL_TAG = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
_WRAPPER_KEYS = ("arguments", "parameters", "args", "input")


def extract_json(text: str) -> dict[str, Any] | None:
    """The Draft object in a model's text reply, or None when there is none.

    Tried in order until one parses to a JSON object: the text itself, each code fence,
    each ``<tool_call>`` block, the span from the first ``{`` to the last ``}``; each of
    those also with doubled braces (``{{ … }}``, from prompt templates a model copied)
    undone. A ``{"name": …, "arguments": …}`` wrapper (arguments as object or as a JSON
    string) and ``{"function": {…}}`` are unwrapped.
    """
    pieces = [text.strip()]
    pieces += [m.group(1).strip() for m in _FENCE.finditer(text)]
    pieces += [m.group(1).strip() for m in _TOOL_TAG.finditer(text)]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        pieces.append(text[start : end + 1])
    for piece in pieces:
        for candidate in (piece, *_undoubled(piece)):
            value = _loads(candidate)
            if isinstance(value, dict):
                return unwrap(value)
    return None


def unwrap(value: dict[str, Any]) -> dict[str, Any]:
    """Undo ``{"name", "arguments"}`` / ``{"function": {…}}`` wrappers around a Draft."""
    for _ in range(3):
        if "headline" in value:
            return value
        if isinstance(value.get("function"), dict):
            value = value["function"]
            continue
        inner = next((value[k] for k in _WRAPPER_KEYS if k in value), None)
        if isinstance(inner, str):
            inner = _loads(inner)
        if not isinstance(inner, dict):
            return value
        value = inner
    return value


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, ValueError):
        return None


def _undoubled(text: str) -> list[str]:
    """``text`` with doubled braces undone: only the outer pair, then every pair."""
    out = []
    if text.startswith("{{") and text.endswith("}}"):
        out.append(text[1:-1])
    if "{{" in text or "}}" in text:
        out.append(text.replace("{{", "{").replace("}}", "}"))
    return out


# --------------------------------------------------------------------------- house format


def house_violations(draft: Draft, question: str, numbers: set[int]) -> list[str]:
    """What ``draft`` lacks of the house format, one line each ([] = conforms).

    An abstention (``insufficient_evidence``) needs no sections. Otherwise: at least one
    section. Always: every section with bullets, every bullet citing at least one number
    from ``numbers`` (the evidence given), a headline and bottom line, and for a yes/no
    question a verdict of yes, no or maybe (or "uncertain" when abstaining).
    """
    problems: list[str] = []
    if not draft.headline.strip():
        problems.append("the headline is empty")
    if not draft.bottom_line.strip():
        problems.append("the bottom_line is empty")
    if not draft.insufficient_evidence and not draft.sections:
        problems.append("there are no sections: give sections of bullets, each citing evidence")
    # Bullets are claims: cited even in a hedged, insufficient-evidence answer.
    for s, section in enumerate(draft.sections, 1):
        if not section.bullets:
            problems.append(f"section {s} ({section.heading!r}) has no bullets")
        for b, bullet in enumerate(section.bullets, 1):
            valid = [n for n in bullet.citations if n in numbers]
            if not valid:
                where = f"section {s} bullet {b} ({_clip(bullet.text)!r})"
                problems.append(
                    f"{where} cites no evidence number"
                    + (f" from {_numbers(numbers)}" if bullet.citations else "")
                )
    answered = draft.verdict in ("yes", "no", "maybe")
    abstained = draft.insufficient_evidence and draft.verdict == "uncertain"
    if is_yes_no_question(question) and not (answered or abstained):
        problems.append(
            f"the verdict is {draft.verdict or 'missing'}: this is a yes/no question, "
            "so set verdict to yes, no or maybe"
        )
    return problems


def has_cited_bullet(draft: Draft) -> bool:
    """True when at least one bullet cites something (else the draft is an abstention)."""
    return any(b.citations for s in draft.sections for b in s.bullets)


def normalize_verdict(draft: Draft, question: str) -> Draft:
    """``draft`` with a yes/no/maybe verdict removed when the question is not yes/no."""
    if is_yes_no_question(question) or draft.verdict in (None, "uncertain"):
        return draft
    return draft.model_copy(update={"verdict": None})


def _clip(text: str, size: int = 60) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _numbers(numbers: set[int]) -> str:
    return "[" + ", ".join(str(n) for n in sorted(numbers)) + "]"


# --------------------------------------------------------------------------- mode memory


class ModeMemory:
    """The structured-output mode each endpoint honours, keyed by base URL + model.

    Held in memory for the process and, when ``path`` is given, in a small JSON file
    (written atomically) so the next process skips the modes an endpoint rejected.
    """

    _lock = threading.Lock()
    _shared: ClassVar[dict[str, Mode]] = {}

    def __init__(self, path: Path | None = None) -> None:
        self.path = path

    @staticmethod
    def key(base_url: str | None, model: str) -> str:
        """The memory key of an endpoint, without any ``user:password@`` in its URL.

        The key is written to ``llm_modes.json``: credentials in the base URL must not be.
        """
        parts = urlsplit((base_url or "https://api.openai.com/v1").rstrip("/"))
        url = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
        return f"{url}|{model}"

    def get(self, key: str, default: Mode = "tool") -> Mode:
        """The remembered mode of ``key`` (``default``, the strongest, when unknown)."""
        with self._lock:
            if key in self._shared:
                return self._shared[key]
        stored = self._read().get(key)
        return stored if stored in MODES else default

    def set(self, key: str, mode: Mode) -> None:
        """Remember ``mode`` for ``key``."""
        with self._lock:
            self._shared[key] = mode
        if self.path is None:
            return
        data = self._read()
        if data.get(key) == mode:
            return
        data[key] = mode
        try:
            text = json.dumps(data, indent=1, sort_keys=True)
            atomic.write_text(self.path, text, durable=False)  # a cache: no fsync
        except OSError:
            pass  # a read-only home only costs the negotiation again next time

    def _read(self) -> dict[str, Any]:
        if self.path is None or not self.path.is_file():
            return {}
        value = _loads(self.path.read_text(encoding="utf-8"))
        return value if isinstance(value, dict) else {}

    @classmethod
    def forget_all(cls) -> None:
        """Clear the in-process memory (tests)."""
        with cls._lock:
            cls._shared.clear()


def next_mode(mode: Mode) -> Mode | None:
    """The next weaker mode after ``mode``, or None after the last."""
    index = MODES.index(mode)
    return MODES[index + 1] if index + 1 < len(MODES) else None
