"""CSL-JSON loader on the sparse key references and hand-written items."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import LoadError
from pipeline.ingest.loaders import csl_json
from pipeline.models.corpus import EvidenceLevel, SourceKind


def test_key_references(shared_data: Path) -> None:
    path = shared_data / "sps_ivig" / "key_references.csl.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    result = csl_json.load(path)
    assert len(result.citations) == len(raw) == 12
    for item, citation in zip(raw, result.citations, strict=True):
        assert citation.title == item["title"]
        assert citation.doi == (item["DOI"].lower() if "DOI" in item else None)
        assert citation.year == item["issued"]["date-parts"][0][0]
    first = result.citations[0]
    assert first.publication_types == ["Randomized Controlled Trial", "Clinical Trial"]
    assert first.evidence_level is EvidenceLevel.RCT
    assert first.pages == "1870-1876"  # "1870-6"
    assert [(a.family, a.initials) for a in first.authors][:1] == [("Dalakas", "MC")]


def test_single_object_literal_authors_and_dates(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    item = {
        "type": "webpage",
        "title": "Stiff-Person Syndrome",
        "author": [{"literal": "National Institute of Neurological Disorders and Stroke"}],
        "issued": {"date-parts": [[2023, 3, 1]]},
        "URL": "https://www.ninds.nih.gov/sps",
        "abstract": "SPS is rare.",
        "id": "ITEM-1",
    }
    path.write_text(json.dumps(item), encoding="utf-8")
    (c,) = csl_json.load(path).citations
    assert c.authors[0].collective == "National Institute of Neurological Disorders and Stroke"
    assert (c.year, c.month) == (2023, "Mar")
    assert c.source_kind is SourceKind.WEB_PAGE
    assert c.id.startswith("h:")  # a CSL "id" is a reference-manager key, not ours
    assert c.body == "SPS is rare."


def test_items_without_title_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "refs.json"
    path.write_text(json.dumps([{"type": "article"}, 5, {"title": "Kept"}]), encoding="utf-8")
    result = csl_json.load(path)
    assert [c.title for c in result.citations] == ["Kept"]
    assert [s.record for s in result.skipped] == ["item 1", "item 2"]


@pytest.mark.parametrize("content", ['[{"title": "x"', "{}\n{}", "[]", '"a string"'])
def test_invalid_documents_raise(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(LoadError):
        csl_json.load(path)
