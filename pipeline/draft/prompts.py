"""Prompt templates as checked files under ``prompts/``.

A prompt file is Markdown with YAML front matter (``name``, ``version``, ``variables``,
``description``) and a body of ``## System`` / ``## User`` parts. Placeholders are
``${name}`` (:class:`string.Template`), so JSON braces in a prompt need no escaping. The
loader fails fast: a placeholder not declared in ``variables``, a declared variable never
used, or a render call with missing or unknown variables raise
:class:`~pipeline.errors.PromptError`. Each draft records ``{name: version}`` of the
prompts it used, and the folder they came from.

Where prompts live: the repository keeps them in the top-level ``prompts/`` folder (the one
place editors change them); the wheel build maps that folder to ``pipeline/assets/prompts``
(``[tool.hatch.build.targets.wheel.force-include]`` in ``pyproject.toml``), so there is no
second copy to keep in step. :func:`~pipeline.resources.packaged_prompts_dir` finds whichever
of the two exists; the ``prompts.dir`` setting replaces it with an editorial team's own set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

import yaml
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from pipeline.errors import PromptError
from pipeline.resources import packaged_prompts_dir

PROMPT_NAMES = (
    "draft_article",
    "repair_draft",
    "reply_tool",
    "reply_json",
    "audience_clinician",
    "audience_patient",
)
"""Every prompt the program loads: a custom ``prompts.dir`` must hold all of them."""


def prompts_dir(configured: Path | None = None) -> Path:
    """The folder prompts are read from: ``configured`` (the ``prompts.dir`` setting) or the
    packaged set."""
    return configured.expanduser().resolve() if configured else packaged_prompts_dir()


PROMPTS_DIR = packaged_prompts_dir()
_PART = re.compile(r"^## (System|User)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class PromptTemplate:
    """A parsed prompt file."""

    name: str
    version: str
    variables: frozenset[str]
    system: Template | None
    user: Template | None
    path: Path

    def render(self, **values: str) -> list[BaseMessage]:
        """Fill the placeholders and return chat messages (system first)."""
        given = set(values)
        if missing := self.variables - given:
            raise PromptError(
                f"Prompt {self.name!r} needs variables {sorted(missing)}",
                "Pass every variable listed in the prompt's front matter.",
            )
        if unknown := given - self.variables:
            raise PromptError(
                f"Prompt {self.name!r} got unknown variables {sorted(unknown)}",
                f"Declare them under `variables:` in {self.path} or stop passing them.",
            )
        messages: list[BaseMessage] = []
        if self.system is not None:
            messages.append(SystemMessage(self.system.substitute(values).strip()))
        if self.user is not None:
            messages.append(HumanMessage(self.user.substitute(values).strip()))
        return messages

    def render_text(self, part: str = "system", **values: str) -> str:
        """One part's text, for prompts used as fragments of another prompt."""
        messages = self.render(**values)
        wanted = SystemMessage if part == "system" else HumanMessage
        return "\n".join(str(m.content) for m in messages if isinstance(m, wanted))


def load_prompt(name: str, folder: Path | None = None) -> PromptTemplate:
    """Read and validate ``<folder>/<name>.md`` (``folder`` defaults to the packaged set)."""
    path = prompts_dir(folder) / f"{name}.md"
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        hint = (
            f"Put {name}.md into {path.parent}, or unset prompts.dir (PRESS_PROMPTS__DIR) to use "
            "the prompts shipped with the program."
            if folder
            else "The installation is incomplete: reinstall evidence-press, or set prompts.dir "
            f"(PRESS_PROMPTS__DIR) to a folder holding {name}.md."
        )
        raise PromptError(
            f"Prompt file {path} cannot be read: {exc.strerror or exc}", hint
        ) from exc
    match = re.match(r"^---\n(.*?)\n---\n(.*)$", raw, re.DOTALL)
    if not match:
        raise PromptError(f"{path} has no YAML front matter", "Start the file with a --- block.")
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise PromptError(f"{path}: invalid front matter: {exc}", "Fix the YAML.") from exc
    for key in ("name", "version", "variables"):
        if key not in meta:
            raise PromptError(f"{path}: front matter lacks {key!r}", "Add it to the --- block.")
    if meta["name"] != name:
        raise PromptError(
            f"{path} declares name {meta['name']!r}", "The name must match the file name."
        )
    parts = _PART.split(match.group(2))
    sections = {parts[i].lower(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}
    if not sections:
        raise PromptError(f"{path} has no '## System' or '## User' part", "Add one.")
    templates = {key: Template(text) for key, text in sections.items()}
    declared = frozenset(str(v) for v in meta["variables"] or [])
    used: set[str] = set()
    for key, template in templates.items():
        if not template.is_valid():
            raise PromptError(f"{path}: malformed placeholder in the {key} part", "Use ${name}.")
        used.update(template.get_identifiers())
    if undeclared := used - declared:
        raise PromptError(
            f"{path} uses undeclared variables {sorted(undeclared)}",
            "List them under `variables:` in the front matter.",
        )
    if unused := declared - used:
        raise PromptError(
            f"{path} declares variables it never uses: {sorted(unused)}",
            "Remove them from `variables:` or use them in the body.",
        )
    return PromptTemplate(
        name=name,
        version=str(meta["version"]),
        variables=declared,
        system=templates.get("system"),
        user=templates.get("user"),
        path=path,
    )
