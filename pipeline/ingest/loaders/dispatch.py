"""Loading one corpus file: the named or detected format's loader, errors made uniform.

:func:`load_file` looks the format up in :data:`~pipeline.ingest.loaders.registry.FORMATS`
(``"auto"`` asks :func:`~pipeline.ingest.loaders.detect.detect_format`). A file either loads
completely or raises :class:`~pipeline.errors.LoadError` naming the file (and line/record)
with a hint; record-level problems are reported in ``LoadResult.skipped``. Any unexpected
exception from a loader becomes a ``LoadError`` too, so one bad file cannot crash a whole
ingest run.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import LoadError, UnknownFormatError
from pipeline.ingest.loaders.base import LoadResult
from pipeline.ingest.loaders.detect import detect_format
from pipeline.ingest.loaders.registry import FORMATS


def load_file(path: str | Path, fmt: str = "auto") -> LoadResult:
    """Load one corpus file with the named format, or the detected one for ``"auto"``."""
    path = Path(path)
    if not path.is_file():
        raise LoadError(
            f"{path}: no such file",
            "check the path (directories are expanded by `press ingest`, not here)",
            path=str(path),
        )
    name = detect_format(path) if fmt == "auto" else fmt
    loader = FORMATS.get(name)
    if loader is None:
        raise UnknownFormatError(
            f"unknown format {fmt!r}",
            f"pass --format auto or one of: {', '.join(FORMATS)}",
            path=str(path),
        )
    try:
        return loader(path)
    except LoadError:
        raise
    except Exception as exc:  # a loader bug must not abort a whole ingest run
        raise LoadError(
            f"{path}: unexpected {type(exc).__name__} while loading as {name}: {exc}",
            "this is a bug in the loader; please report it with the file. Meanwhile try "
            "another --format or leave the file out",
            path=str(path),
        ) from exc
