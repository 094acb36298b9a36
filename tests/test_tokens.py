"""Offline tiktoken: encodings load from the installed package, never the network."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import tokens
from pipeline.errors import ConfigError


def test_cl100k_counts_known_text(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    tokens.get_encoding.cache_clear()
    # "hello world" is two tokens in cl100k_base: [15339, 1917]
    assert tokens.get_encoding("cl100k_base").encode("hello world") == [15339, 1917]
    assert any((tmp_path / "cache" / "evidence-press" / "tiktoken").iterdir())


def test_o200k_is_available_offline() -> None:
    assert tokens.count_tokens("stiff-person syndrome", "o200k_base") > 0


def test_unknown_encoding_names_the_available_ones() -> None:
    with pytest.raises(ConfigError) as info:
        tokens.get_encoding("p50k_base")
    assert "cl100k_base" in info.value.hint


def test_model_names_map_to_encodings() -> None:
    assert tokens.encoding_for_model("gpt-4o").name == "o200k_base"
    assert tokens.encoding_for_model("llama-3-8b-instruct").name == "cl100k_base"
    assert tokens.encoding_for_model("whatever", explicit="o200k_base").name == "o200k_base"
