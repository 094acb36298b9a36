"""Settings: sources, priorities, validation errors and the hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.settings import describe, load_settings, public_dict, settings_hash


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
