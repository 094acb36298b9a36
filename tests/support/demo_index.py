"""A demo-corpus index built once per test session (embedding it takes a few seconds)."""

from __future__ import annotations

import shutil
from pathlib import Path

from pipeline.index.hybrid import Index
from pipeline.ingest.run import ingest
from pipeline.settings.load import Settings, load_settings

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "corpus" / "demo"
REFERENCE_QUESTION = (
    "Is IVIG medically necessary for a patient with seronegative stiff-person syndrome who "
    "improved on IVIG after benzodiazepines and gabapentin?"
)


def build_demo_index(home: Path) -> tuple[Settings, Index]:
    """Ingest corpus/demo into an index under ``home``."""
    settings = load_settings(home=home, outputs=home / "outputs")
    index = Index(settings)
    report = ingest([DEMO], index)
    assert not report.failed, [f.messages for f in report.failed]
    return settings, index


def copy_demo_home(home: Path, dest: Path) -> Path:
    """A private copy of the session's demo ``home`` (index included) at ``dest``.

    For command-line tests: ``press`` opens the home named by ``PRESS_HOME`` and may write
    into it (the LLM mode memory, the desk's secret, Chroma persisting its HNSW files on
    first open), so those tests point it at a copy; copying the 1.6 MB home costs
    milliseconds, re-ingesting it seconds. A ``dest`` that exists is this test's copy already.
    """
    if not dest.exists():
        shutil.copytree(home, dest)
    return dest
