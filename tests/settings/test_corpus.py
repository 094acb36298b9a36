"""pipeline.settings.corpus: the retrieval settings' spelled-out \"none\"."""

from __future__ import annotations

from pipeline.settings.load import load_settings


def test_query_model_none_string_means_off() -> None:
    assert load_settings(retrieval={"query_model": "none"}).retrieval.query_model is None
