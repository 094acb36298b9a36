"""Canonical citation JSONL loader: real corpora plus the optional fields, in tmp files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import LoadError
from pipeline.ingest.loaders import jsonl
from pipeline.models.corpus import EvidenceLevel, SourceKind


def _write(tmp_path: Path, *records: object) -> Path:
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def test_open_citations_match_the_raw_records(shared_data: Path) -> None:
    path = shared_data / "citations" / "open_citations.jsonl"
    raw = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    result = jsonl.load(path)
    assert len(raw) == 250
    assert len(result.citations) == 250 and result.skipped == []
    for record, citation in zip(raw, result.citations, strict=True):
        assert citation.id == f"pmid:{record['pmid']}"
        assert citation.title == " ".join(record["title"].split())
        assert citation.year == int(record["year"])  # JSONL carries the year as a string
        assert citation.body == " ".join(record["abstract"].split())
        assert citation.doi == (record["doi"].lower() if record["doi"] else None)
        assert citation.source_file == str(path)
        people = [a for a in record["authors"] if "family" in a]
        loaded = [a for a in citation.authors if a.family]
        assert [(a.family, a.initials) for a in loaded] == [
            (p["family"], p["initials"]) for p in people
        ]
        collectives = [a["collective"] for a in record["authors"] if "collective" in a]
        assert [a.collective for a in citation.authors if a.collective] == collectives


def test_bioasq_snippets_keep_their_ids_and_empty_titles(shared_data: Path) -> None:
    path = shared_data / "bioasq" / "snippets_corpus.jsonl"
    raw = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    result = jsonl.load(path)
    assert len(result.citations) == len(raw) == 20736
    assert [c.id for c in result.citations] == [r["id"] for r in raw]
    assert all(c.title == "" for c in result.citations)
    assert result.citations[0].body == " ".join(raw[0]["abstract"].split())


def test_optional_fields_and_author_strings(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {
            "id": "custom-1",
            "pmid": "11756577",
            "title": "High-dose intravenous immune globulin for stiff-person syndrome.",
            "year": 2001,
            "authors": ["Dalakas MC", "Fujii M"],
            "sections": [{"heading": "Methods", "text": "Crossover  trial."}, {"text": "x"}],
            "source_url": "https://example.org/a",
            "topic": "sps",
            "mesh": ["ignored"],
            "language": "eng",
        },
        {"title": "CDC guideline page", "text": "Body text.", "source_kind": "Guideline"},
        {"title": "Trial", "abstract": "A.", "evidence_level": "rct", "url": "https://x.org"},
    )
    first, second, third = jsonl.load(path).citations
    assert first.id == "custom-1"  # explicit id wins over the PMID
    assert first.pmid == "11756577"
    assert [(a.family, a.initials) for a in first.authors] == [("Dalakas", "MC"), ("Fujii", "M")]
    assert [(s.heading, s.text) for s in first.sections] == [
        ("Methods", "Crossover trial."),
        ("", "x"),
    ]
    assert first.url == "https://example.org/a" and first.topic == "sps"
    assert second.source_kind is SourceKind.GUIDELINE
    assert second.evidence_level is EvidenceLevel.GUIDELINE
    assert second.body == "Body text."
    assert second.id.startswith("h:")
    assert third.evidence_level is EvidenceLevel.RCT and third.url == "https://x.org"


def test_records_without_title_or_body_are_skipped_not_fatal(tmp_path: Path) -> None:
    path = _write(tmp_path, {"pmid": "1"}, {"title": "Kept", "abstract": ""})
    result = jsonl.load(path)
    assert [c.title for c in result.citations] == ["Kept"]
    assert len(result.skipped) == 1
    assert result.skipped[0].record == "line 1"
    assert "neither a title nor a body" in result.skipped[0].reason


def test_unknown_source_kind_skips_the_record_with_a_reason(tmp_path: Path) -> None:
    path = _write(tmp_path, {"title": "A", "source_kind": "blog"}, {"title": "B"})
    result = jsonl.load(path)
    assert [c.title for c in result.citations] == ["B"]
    assert "blog" in result.skipped[0].reason


def test_malformed_line_raises_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"title": "ok"}\n\n{"title": "cut off\n', encoding="utf-8")
    with pytest.raises(LoadError) as info:
        jsonl.load(path)
    assert info.value.record == "line 3"
    assert str(path) in str(info.value) and info.value.hint


def test_non_object_line_raises(tmp_path: Path) -> None:
    path = tmp_path / "list.jsonl"
    path.write_text('[{"title": "csl"}]\n', encoding="utf-8")
    with pytest.raises(LoadError, match="not an object"):
        jsonl.load(path)


def test_raw_line_separator_inside_a_string_does_not_split_the_record(tmp_path: Path) -> None:
    path = tmp_path / "u2028.jsonl"
    path.write_text('{"title": "a\u2028b", "abstract": "c"}\n', encoding="utf-8")
    (citation,) = jsonl.load(path).citations
    assert citation.title == "a b"
