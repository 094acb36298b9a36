"""pipeline.atomic: a failed write leaves the old file and no temp file; writes replace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline import atomic


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """An empty folder of its own (tmp_path also holds conftest's press-home)."""
    path = tmp_path / "out"
    path.mkdir()
    return path


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_writes_create_folders_and_replace_the_old_content(folder: Path) -> None:
    target = folder / "a" / "b" / "page.html"
    assert atomic.write_text(target, "first") == target
    atomic.write_text(target, "second é")
    assert target.read_text(encoding="utf-8") == "second é"
    atomic.write_bytes(target, b"\x00raw", durable=False)
    assert target.read_bytes() == b"\x00raw"
    atomic.write_json(folder / "x.json", {"k": [1, 2]})
    assert json.loads((folder / "x.json").read_text()) == {"k": [1, 2]}
    assert _names(target.parent) == ["page.html"]


def test_a_failing_write_leaves_the_old_file_intact_and_no_temp_file(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = folder / "report.json"
    atomic.write_text(target, "old")

    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", disk_full)
    with pytest.raises(OSError, match="No space"):
        atomic.write_text(target, "new")
    assert target.read_text() == "old"
    assert _names(folder) == ["report.json"]


def test_an_exception_inside_replacing_keeps_the_target(folder: Path) -> None:
    target = folder / "model.onnx"
    target.write_bytes(b"old weights")
    with pytest.raises(RuntimeError), atomic.replacing(target) as temp:
        temp.write_bytes(b"half of the new wei")
        raise RuntimeError("export crashed")
    assert target.read_bytes() == b"old weights"
    assert _names(folder) == ["model.onnx"]
    with atomic.replacing(target) as temp:
        assert temp.parent == folder and not temp.exists()
        temp.write_bytes(b"new weights")
    assert target.read_bytes() == b"new weights"
    assert _names(folder) == ["model.onnx"]


def test_unserialisable_json_writes_nothing(folder: Path) -> None:
    target = folder / "state.json"
    atomic.write_json(target, {"ok": True})
    with pytest.raises(TypeError):
        atomic.write_json(target, {"bad": object()})
    assert json.loads(target.read_text()) == {"ok": True}
    assert _names(folder) == ["state.json"]


def test_replaced_files_keep_the_umask_permissions(folder: Path) -> None:
    plain = folder / "plain.txt"
    plain.write_text("x")
    atomic.write_text(folder / "atomic.txt", "x")
    assert (folder / "atomic.txt").stat().st_mode == plain.stat().st_mode
