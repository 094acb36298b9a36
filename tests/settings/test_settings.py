"""Settings: sources, priorities, validation errors and the hash."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import BaseModel

from pipeline.errors import ConfigError
from pipeline.settings.load import load_settings
from pipeline.settings.report import describe, public_dict, settings_hash


def test_defaults_when_nothing_is_configured() -> None:
    settings = load_settings()
    assert settings.retrieval.k == 8
    assert settings.llm_configured is False


def test_toml_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "press.toml").write_text("[retrieval]\nk = 5\n")
    settings = load_settings()
    assert settings.retrieval.k == 5
    assert ("retrieval.k", 5, "press.toml") in describe(settings)


def test_env_beats_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "press.toml").write_text("[retrieval]\nk = 5\n")
    monkeypatch.setenv("PRESS_RETRIEVAL__K", "11")
    settings = load_settings()
    assert settings.retrieval.k == 11
    assert ("retrieval.k", 11, "env PRESS_RETRIEVAL__K") in describe(settings)


def test_unknown_key_in_toml_is_an_error_with_a_hint(tmp_path: Path) -> None:
    (tmp_path / "press.toml").write_text("[retrieval]\nkk = 5\n")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "retrieval.kk" in info.value.message
    assert "press config show" in info.value.hint


def test_invalid_toml_syntax_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "press.toml").write_text("[retrieval\n")
    with pytest.raises(ConfigError):
        load_settings()


def test_openai_env_vars_configure_the_llm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    settings = load_settings()
    assert settings.llm_configured
    assert settings.llm.base_url == "http://127.0.0.1:9/v1"
    assert "sk-secret-value" not in str(public_dict(settings))


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


def test_a_new_unclassified_field_is_refused_at_class_definition() -> None:
    from pipeline.settings.group import SettingsGroup
    with pytest.raises(TypeError, match="brand_new"):

        class Extra(SettingsGroup):
            DRAFTING: ClassVar[frozenset[str]] = frozenset({"kept"})
            kept: int = 1
            brand_new: int = 2


def test_a_preset_file_and_overrides_layer_over_env_and_press_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.settings.load import load_preset
    (tmp_path / "press.toml").write_text("[retrieval]\nk = 5\nfusion = 'rrf'\n")
    monkeypatch.setenv("PRESS_DRAFT__MAX_BULLETS_PER_SECTION", "3")
    preset = tmp_path / "nightly.toml"
    preset.write_text("[retrieval]\nk = 6\ncandidates = 50\n[llm]\nmodel = 'preset-model'\n")
    settings = load_preset(preset, {"retrieval": {"candidates": 60}}, {"llm": {"temperature": 0.5}})
    assert (settings.retrieval.k, settings.retrieval.candidates) == (6, 60)
    assert settings.retrieval.fusion == "rrf"  # press.toml still applies underneath
    assert settings.draft.max_bullets_per_section == 3  # and so do PRESS_* variables
    assert (settings.llm.model, settings.llm.temperature) == ("preset-model", 0.5)
    assert load_preset(None, {"retrieval": {"k": 9}}).retrieval.k == 9


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot be read"),
        ("[retrieval\n", "not valid TOML"),
        ("[retrieval]\nkk = 3\n", "retrieval.kk"),
    ],
)
def test_a_bad_preset_is_a_config_error_with_a_hint(
    tmp_path: Path, content: str | None, problem: str
) -> None:
    from pipeline.settings.load import load_preset
    preset = tmp_path / "preset.toml"
    if content is not None:
        preset.write_text(content)
    with pytest.raises(ConfigError, match=problem) as caught:
        load_preset(preset, name="settings.preset")
    assert caught.value.hint
    if content is None:
        assert "settings.preset" in str(caught.value)
