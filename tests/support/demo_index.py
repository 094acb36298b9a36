"""A demo-corpus index built once per test run (embedding it takes ~6 s of CPU).

Under pytest-xdist every worker is its own session, so a plain session fixture embedded the
demo corpus once per worker, all at the same time at start-up. :func:`shared_demo_index`
builds it once per *run*: the first worker to take the lock ingests into a folder beside the
workers' temp folders, and every worker (the builder included) opens a private copy of it,
so no two processes ever open one Chroma folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from filelock import FileLock

from pipeline.index.hybrid import Index
from pipeline.ingest.run import ingest
from pipeline.retrieve.retriever import HybridRetriever
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


def shared_demo_index(run_dir: Path, home: Path) -> tuple[Settings, Index]:
    """The demo index under ``home``: a copy of the one built for the whole run in ``run_dir``.

    ``run_dir`` is shared by every worker of the run (xdist's base temp folder); the build is
    marked finished by a file written last, so a worker killed mid-build leaves no half index
    that others would copy.
    """
    source, done = run_dir / "demo-home-built", run_dir / "demo-home-built.done"
    with FileLock(str(run_dir / "demo-home-built.lock")):
        if not done.exists():
            shutil.rmtree(source, ignore_errors=True)
            _settings, index = build_demo_index(source)
            index.close()
            done.write_text("built\n")
    shutil.copytree(source, home)
    settings = load_settings(home=home, outputs=home / "outputs")
    index = Index(settings)
    # Chroma rewrites its SQLite file and HNSW length file on the first query after an open;
    # do that now, before the shared-home guard fingerprints the copy.
    HybridRetriever(index=index, settings=settings.retrieval).search(REFERENCE_QUESTION)
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
