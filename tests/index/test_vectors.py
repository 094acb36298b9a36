"""Several hosts, one Chroma server (``chroma run``): nothing a host wrote is lost.

Each host has its own home (passage DB, BM25, writer lock) and ingests its own part of
the corpus into the same server collection, as in a real scale-out. The fixture starts a
throwaway ``chroma run`` on 127.0.0.1 and always stops it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from pipeline.index.embeddings import make_embeddings
from pipeline.index.hybrid import Index
from pipeline.ingest.run import ingest
from pipeline.retrieve.retriever import HybridRetriever
from pipeline.settings.load import Settings, load_settings

_TOPICS = {
    "a": ["baclofen", "spasticity", "tizanidine", "dantrolene", "botulinum"],
    "b": ["metformin", "glycemia", "insulin", "sitagliptin", "empagliflozin"],
}


def _chroma_executable() -> str | None:
    beside = Path(sys.executable).parent / "chroma"
    return str(beside) if beside.is_file() else shutil.which("chroma")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _close_clients(port: int) -> None:
    """Close the HTTP sessions of chromadb clients of ``port`` (chromadb caches them)."""
    from chromadb.api.fastapi import FastAPI
    from chromadb.api.shared_system_client import SharedSystemClient

    for key, system in list(SharedSystemClient._identifier_to_system.items()):
        if system.settings.chroma_server_http_port == port:
            with contextlib.suppress(Exception):
                system.instance(FastAPI)._session.close()
            SharedSystemClient._identifier_to_system.pop(key, None)


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """(host, port) of a fresh ``chroma run`` server, stopped after the test."""
    executable = _chroma_executable()
    if executable is None:
        pytest.skip("the `chroma` executable (chromadb's server) is not installed")
    host, port = "127.0.0.1", _free_port()
    log = (tmp_path / "chroma.log").open("wb")
    server = subprocess.Popen(
        [executable, "run", "--host", host, "--port", str(port), "--path", str(tmp_path / "db")],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://{host}:{port}/api/v2/heartbeat", timeout=1).is_success:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                log.flush()
                output = (tmp_path / "chroma.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"chroma run did not answer its heartbeat:\n{output}")
            time.sleep(0.1)
        yield host, port
    finally:
        _close_clients(port)
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _write_part(folder: Path, part: str, files: int, per_file: int) -> Path:
    """``files`` JSONL files of ``per_file`` records about part ``part``'s topics."""
    folder.mkdir(parents=True)
    words = _TOPICS[part]
    for f in range(files):
        with (folder / f"{part}{f}.jsonl").open("w") as handle:
            for r in range(per_file):
                n = f * per_file + r
                drug = words[n % len(words)]
                record = {
                    "pmid": f"{part}{n}",
                    "title": f"{drug.title()} trial {n}",
                    "year": "2020",
                    "abstract": f"In trial {n}, {drug} changed outcome {n} in {10 + n} adults.",
                    "authors": ["Doe J"],
                }
                handle.write(json.dumps(record) + "\n")
    return folder


def _host(home: Path, server: tuple[str, int]) -> Settings:
    return load_settings(
        home=home,
        index={"chroma_mode": "http", "chroma_host": server[0], "chroma_port": server[1]},
    )


def test_a_second_host_keeps_the_first_hosts_vectors(
    tmp_path: Path, chroma_server: tuple[str, int]
) -> None:
    first = _host(tmp_path / "host-a", chroma_server)
    embeddings = make_embeddings(first)
    a = Index(first, embeddings)
    b = Index(_host(tmp_path / "host-b", chroma_server), embeddings)
    part_a = _write_part(tmp_path / "part-a", "a", 2, 6)
    ingest([part_a], a)
    ingest([_write_part(tmp_path / "part-b", "b", 2, 5)], b)  # reconciles first
    (part_a / "a1.jsonl").unlink()
    ingest([part_a], a, prune=True)  # deletes a1's vectors, none of b's
    a.rebuild()  # re-embeds a's vectors only
    assert a.db_id != b.db_id
    assert (a.check()["vectors"], b.check()["vectors"]) == (6, 10)
    collection = a.vectors.collection
    assert collection.count() == 16
    for host in (a, b):
        got = collection.get(ids=sorted(host.passage_db.passage_ids()), include=["metadatas"])
        assert {m["owner"] for m in got["metadatas"] or []} == {host.db_id}
        assert len(got["ids"]) == len(host.passage_db.passage_ids())
        # Nearest neighbours come from the host's own vectors only (all of them, nothing else).
        retriever = HybridRetriever(index=host, settings=host.settings.retrieval, mode="dense")
        hits = retriever.search("trial outcome", k=16)
        assert {h.passage.id for h in hits} == host.passage_db.passage_ids()
        nearest = host.vectors.query(np.asarray(embeddings.embed_query("trial outcome")), 16)
        assert {hit.passage_id for hit in nearest} == host.passage_db.passage_ids()


@pytest.mark.slow  # a subprocess or the whole demo set: seconds, not ms
def test_two_hosts_ingest_at_once_and_nothing_is_lost(
    tmp_path: Path, chroma_server: tuple[str, int]
) -> None:
    host, port = chroma_server
    writers = []
    for part in ("a", "b"):
        env = {
            **os.environ,
            "PRESS_HOME": str(tmp_path / f"host-{part}"),
            "PRESS_INDEX__CHROMA_MODE": "http",
            "PRESS_INDEX__CHROMA_HOST": host,
            "PRESS_INDEX__CHROMA_PORT": str(port),
            "PRESS_INDEX__EMBED_BATCH_SIZE": "8",  # many small upserts, interleaved
            "PRESS_EMBEDDINGS__THREADS": "1",
        }
        folder = _write_part(tmp_path / f"part-{part}", part, 3, 20)
        command = [sys.executable, "-c", "from pipeline.cli.app import app; app()", "ingest"]
        writers.append(
            subprocess.Popen(
                [*command, str(folder)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = [w.communicate(timeout=120)[0] for w in writers]
    assert [w.returncode for w in writers] == [0, 0], outputs
    indexes = {part: Index(_host(tmp_path / f"host-{part}", chroma_server)) for part in "ab"}
    stored = {part: index.passage_db.passage_ids() for part, index in indexes.items()}
    assert {part: len(ids) for part, ids in stored.items()} == {"a": 60, "b": 60}
    collection = indexes["a"].vectors.collection
    assert collection.count() == len(stored["a"] | stored["b"]) == 120
    for part, index in indexes.items():
        assert index.check()["vectors"] == 60
        got = collection.get(ids=sorted(stored[part]), include=["metadatas"])
        assert sorted(got["ids"]) == sorted(stored[part])
        assert {m["owner"] for m in got["metadatas"] or []} == {index.db_id}
        retriever = HybridRetriever(index=index, settings=index.settings.retrieval, mode="dense")
        word = _TOPICS[part][0]
        hits = retriever.search(f"{word} trial outcome", k=5)
        assert hits and all(word in h.passage.text for h in hits[:3])
        assert {h.passage.id for h in hits} <= stored[part]
