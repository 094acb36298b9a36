"""Fixtures of the static-site tests: one MiniLM model per module and a site built from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.index.embeddings import MiniLMOnnxEmbeddings
from pipeline.publish.site import build_site
from tests.support.site_entries import entries


@pytest.fixture(scope="module")
def minilm() -> MiniLMOnnxEmbeddings:
    return MiniLMOnnxEmbeddings()


@pytest.fixture
def site(tmp_path: Path, minilm: MiniLMOnnxEmbeddings) -> Path:
    build_site(entries(), tmp_path / "site", embeddings=minilm)
    return tmp_path / "site"
