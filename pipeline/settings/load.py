"""The one :class:`Settings` object and where its values come from.

Priority, highest first: keyword arguments (the CLI's flags), ``PRESS_<GROUP>__<FIELD>``
environment variables (plus ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``), the TOML file
(``$PRESS_CONFIG`` or ``./press.toml``) and the defaults. :func:`load_settings` turns
validation problems into a :class:`~pipeline.errors.ConfigError`; presets (``provider=local``)
fill only fields no source set.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from pipeline.errors import ConfigError
from pipeline.settings.corpus import (
    ChunkSettings,
    EmbeddingSettings,
    IndexSettings,
    IngestSettings,
    RetrievalSettings,
)
from pipeline.settings.drafting import DraftSettings, LLMSettings, PromptSettings
from pipeline.settings.service import ReviewSettings, StoreSettings, WebSettings

ENV_PREFIX = "PRESS_"


CONFIG_FILE = "press.toml"


class Settings(BaseSettings):
    """The resolved configuration of one run (see module docstring for the sources)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        toml_file=CONFIG_FILE,
    )

    NOT_DRAFTING: ClassVar[frozenset[str]] = frozenset({"home", "outputs", "models"})
    """Top-level fields that are not groups: paths only (groups classify their own)."""

    home: Path = Field(Path(".press"), description="Folder for the index, store and caches.")
    outputs: Path = Field(Path("outputs"), description="Folder for drafts and the published site.")
    models: Path | None = Field(
        None, description="Folder of the models `press train` makes (unset = <home>/models)."
    )
    index: IndexSettings = Field(default_factory=IndexSettings)
    embeddings: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkSettings = Field(default_factory=ChunkSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    prompts: PromptSettings = Field(default_factory=PromptSettings)
    draft: DraftSettings = Field(default_factory=DraftSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    web: WebSettings = Field(default_factory=WebSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Priority: init kwargs > PRESS_* env > press.toml > defaults."""
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_path())
        return (init_settings, env_settings, toml)

    @property
    def index_dir(self) -> Path:
        """Folder of the Chroma index, the lexical index and the passage database."""
        return self.home / "index"

    @property
    def models_dir(self) -> Path:
        """Folder of the models trained by ``press train`` (one subfolder per model)."""
        return self.models if self.models is not None else self.home / "models"

    @property
    def llm_configured(self) -> bool:
        """True when an endpoint, a key or the local model is set: drafting uses the LLM."""
        return bool(self.llm.base_url or self.llm.api_key or self.llm.provider == "local")

    @model_validator(mode="after")
    def _local_preset(self) -> Settings:
        """provider=local: evidence and reply sized for a small CPU model, unless set."""
        if self.llm.provider == "local":
            for group, values in LOCAL_PRESET.items():
                part = getattr(self, group)
                for name, value in values.items():
                    if name not in part.model_fields_set:
                        setattr(part, name, value)
        return self


LOCAL_PRESET: dict[str, dict[str, Any]] = {
    "retrieval": {"k": 5, "token_budget": 900},
    "llm": {
        "max_tokens": 600,
        "model": "local",
        "timeout_s": 600.0,
        "stream_chunk_timeout_s": 600.0,
        "stream_deadline_s": 900.0,
    },
}
"""Defaults of provider=local, shaped like press.toml (they fill only fields no source set).
A 1.5B model on one shared CPU thread reads ~13-50 prompt tokens/s and writes ~4-15 tokens/s
(issue-15a note), so the evidence and the reply are kept short, and the time limits allow for
reading the prompt before the first chunk: a normal run must not be ended by a limit sized
for a hosted API."""


def config_path() -> Path:
    """The TOML file read for settings: ``$PRESS_CONFIG`` or ``./press.toml``."""
    return Path(os.environ.get("PRESS_CONFIG", CONFIG_FILE))


def load_settings(**overrides: Any) -> Settings:
    """Build :class:`Settings`, turning validation problems into a :class:`ConfigError`."""
    llm_env: dict[str, Any] = {}
    if "OPENAI_API_KEY" in os.environ and "PRESS_LLM__API_KEY" not in os.environ:
        llm_env["api_key"] = os.environ["OPENAI_API_KEY"]
    if "OPENAI_BASE_URL" in os.environ and "PRESS_LLM__BASE_URL" not in os.environ:
        llm_env["base_url"] = os.environ["OPENAI_BASE_URL"]
    try:
        settings = Settings(**overrides)
        if llm_env:
            settings.llm = LLMSettings(**{**dict(settings.llm), **llm_env})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(
            f"Invalid settings: {problems}",
            f"Fix the value in {config_path()} or the matching PRESS_* environment variable "
            "(nested fields use a double underscore, e.g. PRESS_RETRIEVAL__K=10); "
            "`press config show` lists every field.",
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{config_path()} is not valid TOML: {exc}", "Fix the file's syntax."
        ) from exc
    return settings


def load_preset(
    path: Path | None, *overrides: Mapping[str, Any], name: str = "the preset"
) -> Settings:
    """Settings from a press.toml-shaped file ``path`` plus ``overrides`` (later layers win
    key by key), all on top of PRESS_* variables and press.toml, as :func:`load_settings`
    keyword arguments are. ``name`` says in errors what pointed at the file (e.g. a build
    manifest's ``settings.preset``); a relative ``path`` is the caller's to resolve."""
    merged: dict[str, Any] = {}
    if path is not None:
        hint = f"Point {name} at a press.toml-style file ([group] tables of settings fields)."
        try:
            merged = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{name} {path} cannot be read: {exc.strerror or exc}", hint) from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{name} {path} is not valid TOML: {exc}", hint) from exc
    for layer in overrides:
        merged = _deep_merge(merged, layer)
    return load_settings(**merged)


def _deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out
