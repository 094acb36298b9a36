"""pipeline.settings.report: the settings hash follows what changes a draft, and only that."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from pipeline.settings.load import load_settings
from pipeline.settings.report import settings_hash


def test_hash_changes_with_behaviour_not_with_paths_or_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = settings_hash(load_settings())
    assert settings_hash(load_settings(home=Path("elsewhere"))) == base
    monkeypatch.setenv("OPENAI_API_KEY", "sk-other")
    assert settings_hash(load_settings()) == base
    monkeypatch.setenv("PRESS_RETRIEVAL__K", "3")
    assert settings_hash(load_settings()) != base


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PRESS_EMBEDDINGS__THREADS", "4"),
        ("PRESS_EMBEDDINGS__BATCH_SIZE", "8"),
        ("PRESS_INDEX__LOCK_TIMEOUT_S", "5"),
        ("PRESS_LLM__TIMEOUT_S", "90"),
        ("PRESS_LLM__MAX_RETRIES", "7"),
        ("PRESS_LLM__STREAM_CHUNK_TIMEOUT_S", "30"),
        ("PRESS_LLM__LOCAL_THREADS", "2"),
        ("PRESS_LLM__ENCODING", "o200k_base"),
        ("PRESS_LLM__BASE_URL", "http://127.0.0.1:9/v1"),
        ("PRESS_LLM__PRICE_PER_1K_INPUT", "0.5"),
        ("PRESS_WEB__DRAFT_WORKERS", "4"),
        ("PRESS_REVIEW__DESK_URL", "https://desk.example.org"),
    ],
)
def test_hash_ignores_settings_that_draft_nothing_new(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    base = settings_hash(load_settings())
    monkeypatch.setenv(name, value)
    assert settings_hash(load_settings()) == base


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PRESS_LLM__MODEL", "another-model"),
        ("PRESS_LLM__TEMPERATURE", "0.3"),
        ("PRESS_LLM__MAX_TOKENS", "700"),
        ("PRESS_LLM__PROVIDER", "local"),
        ("PRESS_PROMPTS__DIR", "house-prompts"),
        ("PRESS_DRAFT__MAX_BULLETS_PER_SECTION", "2"),
        ("PRESS_EMBEDDINGS__BACKEND", "openai"),
        ("PRESS_CHUNKING__MAX_TOKENS", "200"),
        ("PRESS_RETRIEVAL__SECOND_MODEL", "e5-small"),
    ],
)
def test_hash_follows_settings_that_change_the_draft(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    base = settings_hash(load_settings())
    monkeypatch.setenv(name, value)
    assert settings_hash(load_settings()) != base


def test_every_settings_field_is_classified_as_drafting_or_not() -> None:
    from pipeline.settings.load import Settings
    from pipeline.settings.report import drafting_fields

    leaves: set[str] = set()
    for name, field in Settings.model_fields.items():
        group = field.annotation
        if isinstance(group, type) and issubclass(group, BaseModel):
            drafting, other = group.DRAFTING, group.NOT_DRAFTING  # type: ignore[attr-defined]
            assert not drafting & other, f"{name}: {sorted(drafting & other)} in both sets"
            assert drafting | other == set(group.model_fields), name
            leaves |= {f"{name}.{leaf}" for leaf in group.model_fields}
        else:
            assert name in Settings.NOT_DRAFTING, name
    assert set(drafting_fields()) <= leaves
    assert {"llm.model", "llm.temperature", "prompts.dir", "retrieval.k"} <= set(drafting_fields())
