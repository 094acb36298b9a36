"""Replace a whole directory atomically, and recover from a crash halfway.

The new tree is written into a temp dir beside the target (same filesystem), fsynced,
then swapped in with two renames: ``target → .<name>.old-*``, then ``temp → target``; the
old tree is removed last. A crash while writing leaves the old tree untouched; a crash
between the two renames leaves the old tree complete under its ``.old`` name, and the next
replacement renames it back before anything else; a crash after the second rename leaves
the new tree in place. Leftover temp and ``.old`` dirs are removed by the next run.
Replacements of one target are serialized by a file lock beside it, and a marker file
keeps this module from ever replacing a directory it did not create. A reader sees the
old tree or the new one (or, for the instant between the renames, none): never a mix.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock

from pipeline.errors import PublishError


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
                fsync_dir(directory)
            _swap(temp, target)
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise


def write_file(root: Path, path: str, data: str | bytes) -> None:
    """Write ``root/path`` (creating folders) and fsync it; text is UTF-8."""
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8", errors="replace") if isinstance(data, str) else data
    with open(target, "wb") as handle:
        handle.write(raw)
        handle.flush()
        os.fsync(handle.fileno())


def fsync_dir(path: Path) -> None:
    """Flush a directory's entries (new names, renames) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def rename(source: Path, target: Path) -> None:
    """One atomic rename (a seam for crash tests)."""
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
    fsync_dir(target.parent)
    if moved:
        shutil.rmtree(old)
