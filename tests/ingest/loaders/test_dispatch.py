"""Every real fixture, guideline page and PDF loads through ``load_file`` (auto-detected)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.ingest.loaders.dispatch import load_file

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"
FOLDERS = ["fixtures", "guidelines/markdown", "guidelines/text", "guidelines/html"]
# LICENSE files ship beside the PubMed fixtures; they are not corpus documents.
FILES = sorted(
    str(path.relative_to(SHARED))
    for folder in FOLDERS
    if (SHARED / folder).is_dir()
    for path in (SHARED / folder).rglob("*")
    if path.is_file() and not path.name.startswith("LICENSE")
)


@pytest.mark.parametrize("relative", FILES)
def test_fixture_loads_with_content(shared_data: Path, relative: str) -> None:
    path = shared_data / relative
    result = load_file(path)
    assert result.citations, f"nothing loaded; skipped={result.skipped}"
    assert any(c.title.strip() or c.body.strip() for c in result.citations)
    assert all(c.source_file == str(path) for c in result.citations)
    assert all(c.evidence_level is not None for c in result.citations)
    ids = [c.id for c in result.citations]
    assert all(ids)


def test_the_fixture_list_is_not_empty(shared_data: Path) -> None:
    assert len(FILES) == 44  # 27 fixtures + 7 Markdown + 4 text + 6 HTML guidelines
