"""`kill -9` of `press ingest` at random moments; a re-run converges to a clean run's index.

200 real PubMed records (the first ones with an abstract in a baseline file of
``../shared/data/pubmed``) are split over five PubMed XML files. A clean run gives the
reference state; then `press ingest` on a second home is SIGKILLed at random moments three
times (seeded, so a failure can be replayed), and run to the end once more. Both homes must
then hold the same passage ids, citations and files, Chroma exactly the stored ids and BM25
each stored id once. Embeddings come from the scripted OpenAI-compatible server (deterministic
vectors over HTTP) so the test spends its time on crashes, not on the embedding model.
"""

from __future__ import annotations

import gzip
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

from pipeline.index.hybrid import Index
from pipeline.settings.load import load_settings
from tests.support import tally
from tests.support.openai_server import ScriptedOpenAIServer

RECORDS, FILES, KILLS = 200, 5, 3


def pubmed_files(source: Path, folder: Path) -> Path:
    """The first RECORDS articles with an abstract, as FILES PubMed XML files."""
    articles: list[bytes] = []
    with gzip.open(source) as stream:
        for _, element in etree.iterparse(stream, tag="PubmedArticle"):
            if element.find(".//AbstractText") is not None:
                articles.append(etree.tostring(element))
            element.clear()
            if len(articles) == RECORDS:
                break
    folder.mkdir()
    per_file = RECORDS // FILES
    for part in range(FILES):
        body = b"".join(articles[part * per_file : (part + 1) * per_file])
        (folder / f"part{part}.xml").write_bytes(
            b"<?xml version='1.0'?>\n<PubmedArticleSet>" + body + b"</PubmedArticleSet>\n"
        )
    return folder


def state(home: Path, env: dict[str, str]) -> dict[str, object]:
    """Everything that must match a clean run, read after the runs finished."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        index = Index(load_settings(home=home))
        lexical_ids = index.lexical().ids
        stored = index.passage_db.passage_ids()
        return {
            "passages": sorted(stored),
            "vectors": sorted(index.vectors.ids()),
            "bm25": sorted(lexical_ids),
            "bm25 duplicates": [i for i, n in Counter(lexical_ids).items() if n > 1],
            "counts": index.check(),
            "files": sorted(Path(f).name for f in index.passage_db.files()),
        }
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.mark.slow  # a subprocess or the whole demo set: seconds, not ms
def test_kill_9_during_ingest_then_rerun_converges_to_a_clean_run(
    tmp_path: Path, shared_data: Path, openai_server: ScriptedOpenAIServer
) -> None:
    corpus = pubmed_files(shared_data / "pubmed" / "pubmed21n1298.xml.gz", tmp_path / "corpus")
    env = {
        "PRESS_EMBEDDINGS__BACKEND": "openai",
        "PRESS_LLM__BASE_URL": openai_server.base_url,
        "PRESS_LLM__API_KEY": "test",
        "PRESS_INDEX__EMBED_BATCH_SIZE": "8",
    }
    run_env = {**os.environ, **env}
    press = [sys.executable, "-c", "from pipeline.cli.app import app; app()"]
    log = tmp_path / "ingest.log"

    def ingest(home: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as errors:
            return subprocess.Popen(
                [*press, "ingest", str(corpus), "--json"],
                env={**run_env, "PRESS_HOME": str(home)},
                stdout=subprocess.DEVNULL,
                stderr=errors,
            )

    def wait_for_store(home: Path, proc: subprocess.Popen[bytes]) -> float:
        """Seconds until the run opened its passage DB (startup is not worth killing)."""
        started = time.monotonic()
        while proc.poll() is None and not (home / "index" / "passages.sqlite").exists():
            time.sleep(0.02)
        return time.monotonic() - started

    clean = tmp_path / "clean"
    proc = ingest(clean)
    wait_for_store(clean, proc)
    started = time.monotonic()
    assert proc.wait(timeout=240) == 0, log.read_text()
    work = time.monotonic() - started  # the part of a run that writes the index

    crashed = tmp_path / "crashed"
    rng = random.Random(9)
    kills = 0
    for _ in range(KILLS):
        proc = ingest(crashed)
        wait_for_store(crashed, proc)
        time.sleep(rng.uniform(0.05, 0.9) * work)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
            tally.count("faults injected: kill -9 during ingest")
        proc.wait()
    assert kills >= 2, f"only {kills} of {KILLS} runs were still going when killed"
    proc = ingest(crashed)
    assert proc.wait(timeout=240) == 0, log.read_text()

    reference, recovered = state(clean, env), state(crashed, env)
    assert len(reference["passages"]) >= RECORDS  # type: ignore[arg-type]
    assert reference["vectors"] == reference["passages"] == reference["bm25"]
    assert recovered == reference
    assert recovered["bm25 duplicates"] == []
    tally.count("faults survived: kill -9 during ingest", kills)
