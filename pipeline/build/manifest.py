"""The build manifest: a YAML file naming the questions a scheduled build keeps drafted.

A manifest is read with PyYAML and validated by the pydantic :class:`Manifest` model
(``extra="forbid"`` everywhere, so a misspelt key is an error, not a silent default).
Every mistake becomes a :class:`~pipeline.errors.ConfigError` naming the field path
(``eval.tolerances.citation_support``) and the manifest file. Relative paths in a manifest
are relative to the manifest's folder, so a manifest works from any working directory.

Example (``evals/manifests/demo.yaml``)::

    name: demo
    questions_file: ../sets/demo.jsonl   # JSONL question set, or text: one question a line
    questions: ["Is IVIG effective in stiff-person syndrome?"]   # inline, added to the file's
    audiences: [clinician]               # for questions that do not name their own audience
    author: press-build                  # stores and submits every new revision
    settings: {preset: ../../press.toml, overrides: {retrieval: {k: 8}}}
    eval: {set: ../sets/demo.jsonl, baseline: ../baselines/demo.json}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.errors import ConfigError
from pipeline.evaluate.compare import Tolerances
from pipeline.models.article import Audience

__all__ = ["BuildQuestion", "EvalSpec", "Manifest", "RateLimit", "load_manifest"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QuestionEntry(_Strict):
    """One inline question with an optional audience (else every manifest audience)."""

    question: str = Field(min_length=1, description="The clinical question.")
    audience: Audience | None = Field(None, description="clinician or patient.")


class SettingsPreset(_Strict):
    """A press.toml-style file and/or inline overrides, applied on top of the settings."""

    preset: Path | None = Field(None, description="A TOML file shaped like press.toml.")
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="Settings groups, e.g. {retrieval: {k: 8}}."
    )


class EvalSpec(_Strict):
    """An eval set run after drafting; a regression against the baseline blocks publishing."""

    set: Path = Field(description="Question set (JSONL) scored with `press eval articles`.")
    baseline: Path | None = Field(
        None,
        description="Articles report to compare with; written by the first build when absent.",
    )
    tolerances: Tolerances = Field(default_factory=Tolerances)


class RateLimit(_Strict):
    """Shared limits for every LLM call of the build."""

    requests_per_minute: float | None = Field(None, gt=0, description="None = unlimited.")
    tokens_per_minute: int | None = Field(None, gt=0, description="None = unlimited.")
    max_retries: int = Field(4, ge=0, description="Retries of a 429/5xx reply, with backoff.")


class Prices(_Strict):
    """Prices for the report's cost column (they never change an article)."""

    per_1k_input: float = Field(ge=0)
    per_1k_output: float = Field(ge=0)


def _clinician() -> list[Audience]:
    return ["clinician"]


class Manifest(_Strict):
    """A validated build manifest (see the module docstring)."""

    name: str = Field("build", pattern=r"^[A-Za-z0-9._-]+$", description="Used in unit names.")
    questions: list[str | QuestionEntry] = Field(default_factory=list)
    questions_file: Path | None = Field(None, description="JSONL set or a text file.")
    audiences: list[Audience] = Field(default_factory=_clinician, min_length=1)
    author: str = Field("press-build", min_length=1, description="Who stores and submits.")
    publisher: str | None = Field(None, description="Who republishes (needs the role).")
    republish_unchanged: bool = Field(
        False,
        description="Publish an approved article again when its re-draft is identical.",
    )
    drafter: Literal["auto", "llm", "extractive"] = "auto"
    concurrency: int = Field(4, ge=1, le=64)
    settings: SettingsPreset = Field(default_factory=SettingsPreset)
    site: Path | None = Field(None, description="Site folder (default: <outputs>/site).")
    eval: EvalSpec | None = None
    rate_limit: RateLimit = Field(default_factory=RateLimit)
    prices: Prices | None = None
    schedule_at: str = Field("02:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    path: Path = Field(Path("."), exclude=True, description="The manifest file (absolute).")

    @field_validator("audiences")
    @classmethod
    def _unique(cls, value: list[Audience]) -> list[Audience]:
        return list(dict.fromkeys(value))

    def resolve(self, path: Path | None) -> Path | None:
        """``path`` relative to the manifest's folder (absolute paths unchanged)."""
        if path is None:
            return None
        return path if path.is_absolute() else (self.path.parent / path).resolve()

    def build_questions(self) -> list[BuildQuestion]:
        """Every (question, audience) pair, file first, duplicates removed, in order."""
        entries: list[tuple[str, Audience | None]] = []
        if self.questions_file is not None:
            entries += _read_questions(self.path.parent / self.questions_file)
        for item in self.questions:
            if isinstance(item, str):
                entries.append((item, None))
            else:
                entries.append((item.question, item.audience))
        pairs: dict[tuple[str, Audience], None] = {}
        for question, audience in entries:
            for aud in [audience] if audience else self.audiences:
                pairs[(" ".join(question.split()), aud)] = None
        if not pairs:
            raise ConfigError(
                f"{self.path}: the manifest names no questions",
                "Add `questions:` (a list) or `questions_file:` (JSONL set or text file).",
            )
        return [BuildQuestion(question=q, audience=a) for q, a in pairs]


class BuildQuestion(_Strict):
    """One unit of work: a question for one audience."""

    question: str
    audience: Audience


def _read_questions(path: Path) -> list[tuple[str, Audience | None]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"questions_file {path} cannot be read: {exc.strerror or exc}",
            "Fix the path (relative paths are relative to the manifest's folder).",
        ) from exc
    out: list[tuple[str, Audience | None]] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith("{"):
            out.append((line, None))
            continue
        try:
            record = json.loads(line)
            entry = QuestionEntry(
                question=record["question"], audience=record.get("audience") or None
            )
        except (json.JSONDecodeError, KeyError, TypeError, ValidationError) as exc:
            raise ConfigError(
                f"{path}:{number}: not a question record ({exc.__class__.__name__})",
                'Each JSONL line needs "question" (and optionally "audience").',
            ) from exc
        out.append((entry.question, entry.audience))
    return out


def load_manifest(path: Path) -> Manifest:
    """Read and validate a manifest; every problem is a ConfigError naming the field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"Cannot read the manifest {path}: {exc.strerror or exc}",
            "Pass the path of a YAML build manifest (see evals/manifests/demo.yaml).",
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}", "Fix the file's syntax.") from exc
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: a manifest is a YAML mapping, not {type(data).__name__}",
            "Start with `name:` and `questions:` (see evals/manifests/demo.yaml).",
        )
    try:
        manifest = Manifest.model_validate({**data, "path": path.resolve()})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(
            f"{path}: invalid manifest: {problems}",
            "Fix the named fields; unknown keys are errors (see evals/manifests/demo.yaml).",
        ) from exc
    return manifest
