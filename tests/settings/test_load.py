"""pipeline.settings.load: sources, priorities, validation errors, presets."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.settings.load import load_settings
from pipeline.settings.report import describe, public_dict


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
