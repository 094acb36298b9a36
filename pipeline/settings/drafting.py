"""Settings groups of drafting: the language model, the prompt set and the draft itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from pipeline.settings.group import SettingsGroup


class LLMSettings(SettingsGroup):
    """The OpenAI-compatible chat endpoint; unset base_url and key = extractive drafter."""

    # The model is named by model/provider/local_model_path; base_url is only where it is
    # served (it changes with ports and proxies); encoding only counts tokens for the usage.
    DRAFTING = frozenset({"model", "temperature", "max_tokens", "provider", "local_model_path"})
    NOT_DRAFTING = frozenset(
        {"base_url", "api_key", "timeout_s", "max_retries", "stream_deadline_s", "encoding",
         "stream_chunk_timeout_s", "local_threads", "local_context", "local_startup_timeout_s",
         "price_per_1k_input", "price_per_1k_output"}
    )  # fmt: skip

    base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint (also OPENAI_BASE_URL)."
    )
    api_key: SecretStr | None = Field(
        None, description="API key (also OPENAI_API_KEY); never logged."
    )
    model: str = Field("gpt-4o-mini", description="Chat model name.")
    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature.")
    timeout_s: float = Field(60.0, gt=0, description="Per-request timeout (silence on the socket).")
    max_retries: int = Field(2, ge=0, description="Retries on 429/5xx/connection errors.")
    stream_deadline_s: float = Field(
        180.0, gt=0, description="Deadline for a whole streamed reply."
    )
    encoding: str | None = Field(
        None,
        description="tiktoken encoding that counts tokens locally when the server reports no "
        "usage (None = by model name, cl100k_base for non-OpenAI names).",
    )
    max_tokens: int = Field(
        1500, ge=64, description="Reply length cap sent with every request (max_tokens)."
    )
    stream_chunk_timeout_s: float = Field(
        120.0,
        gt=0,
        description="langchain-openai's limit on silence between two streamed chunks.",
    )
    provider: Literal["openai", "local"] = Field(
        "openai",
        description="'openai': the endpoint at base_url; 'local': start llama.cpp (the "
        "evidence-press[local] extra) on 127.0.0.1 with local_model_path, stop it at exit.",
    )
    local_model_path: Path | None = Field(
        None,
        description="GGUF weights for provider=local (None = the model the [local] extra "
        "installs, joined once into the cache folder).",
    )
    local_threads: int = Field(
        1, ge=0, description="llama.cpp threads (1 on shared cores; 0 = all cores)."
    )
    local_context: int = Field(4096, ge=512, description="llama.cpp context size in tokens.")
    local_startup_timeout_s: float = Field(
        180.0, gt=0, description="How long to wait for the local server to load the model."
    )
    price_per_1k_input: float | None = Field(None, ge=0, description="Cost per 1k prompt tokens.")
    price_per_1k_output: float | None = Field(None, ge=0, description="Cost per 1k reply tokens.")


class PromptSettings(SettingsGroup):
    """Which prompt set drafting uses."""

    DRAFTING = frozenset({"dir"})

    dir: Path | None = Field(
        None,
        description="Folder of an editorial team's own prompt files (draft_article.md, "
        "repair_draft.md, audience_*.md); unset = the prompts shipped with the program.",
    )


class DraftSettings(SettingsGroup):
    """Article drafting."""

    DRAFTING = frozenset(
        {"audience", "max_bullets_per_section", "support_threshold", "misattribution_margin"}
    )

    audience: Literal["clinician", "patient"] = Field("clinician", description="Default audience.")
    max_bullets_per_section: int = Field(
        4, ge=1, description="Extractive drafter: bullets per section."
    )
    support_threshold: float = Field(
        0.35, ge=0, le=1, description="Bullets whose support score is below this are flagged."
    )
    misattribution_margin: float = Field(
        0.2,
        ge=0,
        le=1,
        description="A bullet is flagged 'better supported by [k]' when an uncited retrieved "
        "source supports it this much better than its cited ones (see `press eval attribution`).",
    )
