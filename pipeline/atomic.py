"""Atomic writes: a reader sees the old file (or tree) or the new one, never half of one.

**Files** (:func:`write_text`, :func:`write_bytes`, :func:`write_json`, and
:func:`replacing` for writers that want a path, such as ``torch.save`` or a streamed copy):
the content goes to a temp file beside the target (same folder, so the same filesystem),
is fsynced, and ``os.replace`` puts it in place; the folder is fsynced so the rename
survives a power cut too. On any failure the temp file is removed and the target is left as
it was. Temp names are unique per write (``.<name>.<random>.partial``), so two processes
writing the same file never write into one temp file; the last rename wins. ``durable=False``
skips the fsyncs for caches that are cheap to rebuild. Temp files are created with the
process umask like any other file (not ``mkstemp``'s 0600), so a replaced file keeps the
permissions a plain write would give it.

**Directories** (:func:`replace_dir`): the new tree is written into a temp dir beside the
target, fsynced, then swapped in with two renames: ``target → .<name>.old-*``, then
``temp → target``; the old tree is removed last. A crash while writing leaves the old tree
untouched; a crash between the two renames leaves the old tree complete under its ``.old``
name, and the next replacement renames it back before anything else; a crash after the
second rename leaves the new tree in place. Leftover temp and ``.old`` dirs are removed by
the next run. Replacements of one target are serialized by a file lock beside it, and a
marker file keeps this module from ever replacing a directory it did not create. A reader
sees the old tree or the new one (or, for the instant between the renames, none): never a mix.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock

from pipeline.errors import PublishError


@contextmanager
def replacing(path: Path, *, durable: bool = True) -> Iterator[Path]:
    """Yield a temp path beside ``path`` to write; a clean exit moves it onto ``path``.

    The caller creates the temp file (any writer that takes a path). On an exception the
    temp file is removed and ``path`` is untouched. Parent folders are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.partial")
    try:
        yield temp
        if durable:
            _fsync(temp)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    if durable:
        _fsync(path.parent)


def write_bytes(path: Path, data: bytes, *, durable: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically (see the module docstring); returns ``path``."""
    with replacing(path, durable=durable) as temp, open(temp, "xb") as handle:
        handle.write(data)
    return Path(path)


def write_text(path: Path, text: str, *, durable: bool = True) -> Path:
    """Write ``text`` as UTF-8 to ``path`` atomically; returns ``path``."""
    return write_bytes(path, text.encode("utf-8"), durable=durable)


def write_json(path: Path, data: Any, *, indent: int | None = 2, durable: bool = True) -> Path:
    """Write ``data`` as JSON (UTF-8, a final newline) to ``path`` atomically; returns ``path``."""
    return write_text(path, json.dumps(data, indent=indent) + "\n", durable=durable)


def _fsync(path: Path) -> None:
    """Flush a file's content, or a directory's entries (new names, renames), to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def replace_dir(target: Path, marker: str, *, what: str = "the directory") -> Iterator[Path]:
    """Yield an empty temp dir to fill; on a clean exit it replaces ``target`` atomically.

    ``marker`` is the file name that proves a directory was built here: the caller writes
    it into the temp dir, and an existing non-empty ``target`` without it is refused.
    On an exception the temp dir is removed and ``target`` is left as it was.
    """
    target = Path(target).absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(target.with_name(f".{target.name}.lock")):
        _recover(target)
        _guard(target, marker, what)
        temp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        try:
            os.chmod(temp, 0o755)
            yield temp
            for directory in sorted({p.parent for p in temp.rglob("*")} | {temp}, reverse=True):
                _fsync(directory)
            _swap(temp, target)
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise


def write_file(root: Path, path: str, data: str | bytes) -> None:
    """Write ``root/path`` inside a :func:`replace_dir` temp tree (creating folders) and
    fsync it; text is UTF-8. No rename: the whole tree is swapped in at once."""
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8", errors="replace") if isinstance(data, str) else data
    with open(target, "wb") as handle:
        handle.write(raw)
        handle.flush()
        os.fsync(handle.fileno())


def rename(source: Path, target: Path) -> None:
    """One atomic rename of a directory (a seam for crash tests)."""
    os.rename(source, target)


def _leftovers(target: Path, kind: str) -> list[Path]:
    prefix = f".{target.name}.{kind}-"
    return sorted(p for p in target.parent.iterdir() if p.name.startswith(prefix))


def _recover(target: Path) -> None:
    """Undo what a crash left: restore a moved-away tree, delete temp and old dirs."""
    old = _leftovers(target, "old")
    if not target.exists() and old:
        rename(old.pop(), target)
    for path in [*old, *_leftovers(target, "tmp")]:
        shutil.rmtree(path, ignore_errors=True)


def _guard(target: Path, marker: str, what: str) -> None:
    """Refuse to replace anything but a directory built here (or a new/empty one)."""
    if not target.name or target.is_symlink() or (target.exists() and not target.is_dir()):
        raise PublishError(
            f"{target} is not a directory", f"point {what} at a directory (not a symlink)"
        )
    if target.is_dir() and any(target.iterdir()) and not (target / marker).is_file():
        raise PublishError(
            f"{target} exists and was not built by Evidence Press; refusing to replace it",
            f"choose a new or empty directory for {what}",
        )


def _swap(new: Path, target: Path) -> None:
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex}")
    moved = target.exists()
    if moved:
        rename(target, old)
    try:
        rename(new, target)
    except BaseException:
        if moved:
            rename(old, target)
        raise
    _fsync(target.parent)
    if moved:
        shutil.rmtree(old)
