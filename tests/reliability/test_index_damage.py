"""A damaged or deleted vector index: detected with a clear error, rebuilt from the passages.

Each kind of damage is done to the Chroma folder of a small index; then `press index
check` and `press search` must either fail with the project's error and a hint naming
`press index rebuild`, or (when Chroma does not read the damaged file at all) give exactly
the hits of the undamaged index. `press index rebuild` must then restore the same hits.
Embeddings come from the scripted server (deterministic vectors) to keep the rebuilds quick.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from chromadb.api.shared_system_client import SharedSystemClient
from typer.testing import Result

from tests.support import tally
from tests.support.openai_server import ScriptedOpenAIServer
from tests.support.press_cli import press

QUERIES = ["stiffness after immunoglobulin", "blood sugar in pregnancy", "falls in older adults"]
TOPICS = ["stiffness", "immunoglobulin", "pregnancy", "glucose", "falls", "statins", "aspirin"]


def run(args: list[str]) -> Result:
    SharedSystemClient.clear_system_cache()  # each command sees the disk, as a new process would
    return press(args)


def hits() -> list[list[str]]:
    found = []
    for query in QUERIES:
        result = run(["search", query, "-k", "5", "--json"])
        assert result.exit_code == 0, result.stderr
        found.append([h["passage_id"] for h in json.loads(result.stdout)])
    return found


def scramble(path: Path, rng: random.Random) -> None:
    """Overwrite a random-bytes run in every 4 KiB page after the first 100 bytes."""
    data = bytearray(path.read_bytes())
    for start in range(100, len(data), 4096):
        data[start : start + 256] = rng.randbytes(len(data[start : start + 256]))
    path.write_bytes(bytes(data))


def garbage_in_sqlite(chroma: Path, rng: random.Random) -> None:
    scramble(chroma / "chroma.sqlite3", rng)


def truncated_sqlite(chroma: Path, rng: random.Random) -> None:
    path = chroma / "chroma.sqlite3"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])


def garbage_in_segments(chroma: Path, rng: random.Random) -> None:
    for path in chroma.glob("*-*/*.bin"):
        path.write_bytes(rng.randbytes(max(path.stat().st_size, 64)))


def deleted(chroma: Path, rng: random.Random) -> None:
    shutil.rmtree(chroma)


@pytest.mark.parametrize(
    "damage", [garbage_in_sqlite, truncated_sqlite, garbage_in_segments, deleted]
)
def test_damage_is_detected_and_rebuild_restores_the_same_hits(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    openai_server: ScriptedOpenAIServer,
    damage: Callable[[Path, random.Random], None],
) -> None:
    monkeypatch.setenv("PRESS_EMBEDDINGS__BACKEND", "openai")
    monkeypatch.setenv("PRESS_LLM__BASE_URL", openai_server.base_url)
    monkeypatch.setenv("PRESS_LLM__API_KEY", "test")
    rng = random.Random(damage.__name__)
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        "".join(
            json.dumps(
                {
                    "pmid": str(1000 + i),
                    "title": f"Study {i} of {rng.choice(TOPICS)}",
                    "year": 2000 + i % 20,
                    "abstract": " ".join(rng.choices(TOPICS, k=30)) + ".",
                }
            )
            + "\n"
            for i in range(60)
        )
    )
    assert run(["ingest", str(corpus)]).exit_code == 0
    before = hits()
    assert all(before)
    chroma = tmp_path / "press-home" / "index" / "chroma"
    SharedSystemClient.clear_system_cache()
    damage(chroma, rng)
    tally.count("faults injected: damaged vector index")

    for args in (["index", "check"], ["search", QUERIES[0], "-k", "5", "--json"]):
        result = run(args)
        if result.exit_code == 0:  # Chroma never read the damaged bytes: results must hold
            assert damage is garbage_in_segments, (args, result.stdout)
            assert (
                args[0] == "index"
                or [h["passage_id"] for h in json.loads(result.stdout)] == before[0]
            )
        else:
            assert result.exit_code == 1, (args, result.stderr, result.exception)
            assert "press index rebuild" in " ".join(result.stderr.split()), result.stderr

    rebuilt = run(["index", "rebuild"])
    assert rebuilt.exit_code == 0, (rebuilt.stderr, rebuilt.exception)
    assert run(["index", "check"]).exit_code == 0
    assert hits() == before
    tally.count("faults survived: damaged vector index")
    SharedSystemClient.clear_system_cache()
