"""How much the robustness tests tried, printed at the end of every pytest run.

Fault-injection, fuzzing and security tests call :func:`count` (``"faults injected"``,
``"faults survived"``, ``"fuzz inputs: loader jsonl"``, ``"xss payloads"`` …) as they go; the
``pytest_terminal_summary`` hook prints the totals, so the suite's output says how many
faults, inputs and payloads it tried. Registered for the whole suite by ``pytest_plugins`` in
``tests/conftest.py``.

Fuzz budgets: hypothesis tests size their ``max_examples`` with :func:`examples`, which
multiplies the CI default by ``PRESS_FUZZ_SCALE`` (default 1), so ``PRESS_FUZZ_SCALE=20 pytest
tests/ingest/loaders/test_dispatch_bad_input.py tests/article/test_parse.py`` fuzzes twenty
times harder by hand without slowing CI.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest

_COUNTS: Counter[str] = Counter()


def count(kind: str, n: int = 1) -> None:
    """Add ``n`` to the tally line ``kind``."""
    _COUNTS[kind] += n


def examples(default: int) -> int:
    """``default`` hypothesis examples, times ``PRESS_FUZZ_SCALE`` (an integer, default 1)."""
    scale = os.environ.get("PRESS_FUZZ_SCALE", "1")
    return max(1, default * max(1, int(scale)))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the tally (nothing when no robustness test ran)."""
    if not _COUNTS:
        return
    terminalreporter.write_sep("-", "robustness tally (faults, fuzz inputs, payloads)")
    groups: Counter[str] = Counter()
    for kind, n in _COUNTS.items():
        groups[kind.split(":")[0]] += n
    for kind in sorted(_COUNTS):
        terminalreporter.write_line(f"{_COUNTS[kind]:>9,}  {kind}")
    terminalreporter.write_line(
        "totals: " + ", ".join(f"{n:,} {group}" for group, n in sorted(groups.items()))
    )
