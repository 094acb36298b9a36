"""The local lane's plumbing without running a model: weights, joins, doctor, settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import doctor
from pipeline.draft import local
from pipeline.errors import ConfigError
from pipeline.settings.drafting import LLMSettings
from pipeline.settings.load import load_settings


def test_pieces_are_joined_once_in_order_and_atomically(tmp_path: Path) -> None:
    parts = []
    for i, chunk in enumerate([b"GGUF", b"-two-", b"three"]):
        part = tmp_path / f"part{i}.bin"
        part.write_bytes(chunk)
        parts.append(part)
    target = tmp_path / "cache" / "model.gguf"
    assert local.join_parts(parts, target).read_bytes() == b"GGUF-two-three"
    stamp = target.stat().st_mtime_ns
    assert local.join_parts(parts, target).stat().st_mtime_ns == stamp  # not joined again
    assert not list(target.parent.glob("*.partial"))


def test_a_missing_model_path_is_a_config_error_with_a_fix() -> None:
    with pytest.raises(ConfigError, match="not a file") as caught:
        local.model_path(LLMSettings(provider="local", local_model_path=Path("/no/such.gguf")))
    assert "PRESS_LLM__LOCAL_MODEL_PATH" in caught.value.hint


def test_doctor_reports_the_local_lane_without_starting_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = load_settings(llm={"provider": "local"})
    monkeypatch.setattr(local, "runtime_available", lambda: False)
    check = doctor.check_llm(settings)
    assert check.status == "problem" and "xllamacpp" in check.detail
    assert "evidence-press[local]" in check.hint
    monkeypatch.setattr(local, "runtime_available", lambda: True)
    gguf = tmp_path / "team.gguf"
    gguf.write_bytes(b"GGUF" + bytes(100))
    settings = load_settings(llm={"provider": "local", "local_model_path": str(gguf)})
    check = doctor.check_llm(settings)
    assert check.status == "ok" and str(gguf) in check.detail


def test_the_local_preset_sizes_evidence_reply_and_limits_unless_set() -> None:
    settings = load_settings(llm={"provider": "local"})
    assert settings.llm_configured and settings.llm.max_tokens < 1000
    assert settings.retrieval.token_budget < 3000 and settings.llm.stream_deadline_s > 180
    explicit = load_settings(llm={"provider": "local", "max_tokens": 1234})
    assert explicit.llm.max_tokens == 1234
    assert load_settings().llm.max_tokens == 1500  # a hosted endpoint keeps its defaults
