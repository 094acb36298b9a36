"""Shared helpers for the build tests: a store beside the read-only demo index, manifests,
and a valid scripted ``Draft`` tool call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pipeline.index.hybrid import Index
from pipeline.settings.drafting import LLMSettings
from pipeline.settings.load import Settings
from pipeline.settings.service import StoreSettings
from tests.support.openai_server import Reply

QUESTIONS = [
    "Does tamsulosin help patients pass ureteral kidney stones?",
    "What is the first-line treatment for plantar fasciitis?",
    "Does vitamin D supplementation prevent hip fractures in postmenopausal women?",
    "Can subcutaneous immunoglobulin replace IVIG as maintenance therapy in stiff-person syndrome?",
    "Is catheter ablation better than antiarrhythmic drugs as first-line treatment for "
    "symptomatic paroxysmal atrial fibrillation?",
]


def build_settings(demo: tuple[Settings, Index], tmp: Path, **llm: Any) -> Settings:
    """The demo index's settings with a private store and outputs (and home, with an LLM)."""
    settings, _ = demo
    update: dict[str, Any] = {
        "store": StoreSettings(url=f"sqlite:///{tmp / 'press.sqlite'}"),
        "outputs": tmp / "outputs",
    }
    if llm:  # the LLM path writes its mode memory into the home: not the shared one
        update["llm"] = LLMSettings(**llm)
        update["home"] = tmp / "home"
    return settings.model_copy(update=update)


def write_manifest(folder: Path, name: str = "m.yaml", **fields: Any) -> Path:
    """A manifest file with ``fields`` (defaults: two questions, extractive drafter)."""
    data = {"name": "t", "questions": QUESTIONS[:2], "drafter": "extractive", **fields}
    path = folder / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def draft_reply(delay: float = 0.0) -> Reply:
    """A valid ``Draft`` tool call citing evidence item 1."""
    args = {
        "headline": "Evidence Supports Treatment",
        "summary": "Trials report benefit.",
        "sections": [
            {
                "heading": "Trial Evidence",
                "bullets": [{"text": "Trials reported benefit in adults.", "citations": [1]}],
            }
        ],
        "bottom_line": "Treatment may help.",
        "related_questions": ["What dose is used?"],
        "insufficient_evidence": False,
        "verdict": "yes",
    }
    return Reply.tool_call("Draft", args, delay=delay)
