"""Records every file a Python process opens under a folder (for tests/test_wheel.py).

Put this folder on ``PYTHONPATH`` and set ``PRESS_OPEN_LOG`` (the log file) and
``PRESS_OPEN_ROOT`` (the folder whose files count): Python imports ``sitecustomize`` at
start-up, the audit hook sees each ``open`` (data files and, through ``io.open_code``, the
modules imported), and each new path under the root is appended to the log at once (a
process ended by a signal, as ``press serve`` is, runs no exit handlers).
"""

from __future__ import annotations

import os
import sys

_LOG = os.environ.get("PRESS_OPEN_LOG")
_ROOT = os.environ.get("PRESS_OPEN_ROOT")
_SEEN: set[str] = set()


def _hook(event: str, args: tuple[object, ...]) -> None:
    if event != "open" or not args:
        return
    path = args[0]
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if isinstance(path, str) and _ROOT:
        full = os.path.abspath(path)
        if full.startswith(_ROOT + os.sep) and full not in _SEEN and _LOG:
            _SEEN.add(full)
            # The log is outside the root, so this open does not come back here.
            with open(_LOG, "a", encoding="utf-8") as log:
                log.write(full + "\n")


if _LOG and _ROOT:
    sys.addaudithook(_hook)
