"""A demo-corpus index built once per test session (embedding it takes a few seconds)."""

from __future__ import annotations

from pathlib import Path

from pipeline.index.hybrid import Index
from pipeline.ingest.run import ingest
from pipeline.settings import Settings, load_settings

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
