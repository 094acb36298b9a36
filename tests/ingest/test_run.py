"""Ingest: incremental, idempotent, one writer, bad files isolated, crash-safe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import IndexBusyError, IndexError_
from pipeline.index.hybrid import Index
from pipeline.ingest.run import ingest
from pipeline.settings.load import load_settings


def _record(pmid: str, title: str, text: str) -> dict[str, object]:
    return {"pmid": pmid, "title": title, "year": "2020", "abstract": text, "authors": ["Doe J"]}


def _write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture
def index(tmp_path: Path) -> Index:
    return Index(load_settings(home=tmp_path / "home"))


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    _write_jsonl(
        folder / "a.jsonl",
        [
            _record("1", "IVIG in stiff-person syndrome", "IVIG reduced stiffness scores."),
            _record("2", "Baclofen for spasticity", "Baclofen eased muscle spasms in adults."),
        ],
    )
    _write_jsonl(folder / "b.jsonl", [_record("3", "Metformin", "Metformin lowered HbA1c.")])
    (folder / "README.md").write_text("# not a corpus file\n")
    return folder


def test_first_ingest_indexes_everything_and_skips_documentation(
    index: Index, corpus: Path
) -> None:
    report = ingest([corpus], index)
    assert [Path(f.path).name for f in report.files] == ["a.jsonl", "b.jsonl"]
    assert report.total("citations") == 3
    assert report.embedded == 3
    assert index.check()["vectors"] == 3
    assert index.lexical().corpus_version == report.corpus_version


def test_reingesting_an_unchanged_corpus_embeds_nothing(index: Index, corpus: Path) -> None:
    first = ingest([corpus], index)
    second = ingest([corpus], index)
    assert second.embedded == 0
    assert {f.status for f in second.files} == {"unchanged"}
    assert second.corpus_version == first.corpus_version


def test_a_changed_record_replaces_only_its_passage(index: Index, corpus: Path) -> None:
    ingest([corpus], index)
    _write_jsonl(
        corpus / "a.jsonl",
        [
            _record("1", "IVIG in stiff-person syndrome", "IVIG reduced stiffness and falls."),
            _record("2", "Baclofen for spasticity", "Baclofen eased muscle spasms in adults."),
        ],
    )
    report = ingest([corpus], index)
    changed = report.files[0]
    assert (changed.status, changed.added, changed.removed, changed.unchanged) == (
        "updated",
        1,
        1,
        1,
    )
    assert index.check()["vectors"] == 3


def test_bad_files_get_one_message_and_the_rest_is_ingested(index: Index, corpus: Path) -> None:
    (corpus / "empty.jsonl").write_text("")
    (corpus / "broken.jsonl").write_text('{"pmid": "9", "title": "x"\n')
    report = ingest([corpus], index)
    failed = {Path(f.path).name: f.messages for f in report.failed}
    assert set(failed) == {"empty.jsonl", "broken.jsonl"}
    assert all(len(m) == 1 for m in failed.values())
    assert index.passage_db.counts()["citations"] == 3


def test_a_file_that_turns_bad_keeps_its_previous_content(index: Index, corpus: Path) -> None:
    ingest([corpus], index)
    (corpus / "b.jsonl").write_text('{"pmid": "3", "title": truncated')
    report = ingest([corpus], index)
    assert [Path(f.path).name for f in report.failed] == ["b.jsonl"]
    assert index.passage_db.citation_owner("pmid:3") is not None
    assert index.check()["vectors"] == 3


def test_duplicate_citations_across_files_are_reported_once(index: Index, corpus: Path) -> None:
    _write_jsonl(corpus / "c.jsonl", [_record("3", "Metformin", "Metformin lowered HbA1c.")])
    report = ingest([corpus], index)
    messages = [m for f in report.files for m in f.messages]
    assert any("duplicate citation pmid:3" in m for m in messages)
    assert index.passage_db.counts()["citations"] == 3


def test_prune_removes_passages_of_vanished_files(index: Index, corpus: Path) -> None:
    ingest([corpus], index)
    (corpus / "b.jsonl").unlink()
    report = ingest([corpus], index, prune=True)
    assert [f.status for f in report.files if f.status == "removed"] == ["removed"]
    assert index.check()["passages"] == 2


def test_a_second_writer_is_refused_with_a_hint(index: Index, corpus: Path) -> None:
    with index.writer_lock():
        other = Index(index.settings)
        with pytest.raises(IndexBusyError) as info:
            ingest([corpus], other)
    assert "LOCK_TIMEOUT" in info.value.hint


def test_a_deleted_vector_index_is_detected_and_rebuilt(index: Index, corpus: Path) -> None:
    ingest([corpus], index)
    index.vectors.reset()
    with pytest.raises(IndexError_) as info:
        index.check()
    assert "rebuild" in info.value.hint
    assert index.rebuild() == 3
    assert index.check()["vectors"] == 3
