"""Pytest fixtures for a throwaway PostgreSQL server (the article store's production engine).

Registered for the whole suite by ``pytest_plugins`` in ``tests/conftest.py``. The cluster
is started once per test session with ``initdb`` / ``pg_ctl`` on 127.0.0.1 (as the
``postgres`` user when running as root, since ``initdb`` refuses root) and every test that
asks for ``pg_url`` gets its own fresh database on it. Without the server binaries or
psycopg the tests that use it are skipped with the reason.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_BIN = Path("/usr/lib/postgresql/15/bin")


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (skipped without PG or psycopg)."""
    pytest.importorskip("psycopg")
    bindir = Path(shutil.which("pg_ctl") or PG_BIN / "pg_ctl").resolve().parent
    if not (bindir / "initdb").is_file():
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    data = Path(tempfile.mkdtemp(prefix="press-pg-"))
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:  # initdb refuses to run as root
        shutil.chown(data, "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {data}"
    run = functools.partial(subprocess.run, check=True, capture_output=True, timeout=60)
    pg_ctl = [*as_postgres, str(bindir / "pg_ctl"), "-D", str(data / "db")]
    run(
        [*as_postgres, str(bindir / "initdb"), "-A", "trust", "-U", "press", "-D", str(data / "db")]
    )
    # -l: the server writes to a file, so it holds no pipe of ours open.
    run([*pg_ctl, "-o", options, "-l", str(data / "server.log"), "-w", "start"])
    try:
        yield f"postgresql+psycopg://press@127.0.0.1:{port}"
    finally:
        run([*pg_ctl, "-m", "immediate", "stop"])
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def pg_url(postgres: str, request: pytest.FixtureRequest) -> str:
    """A fresh database on the throwaway cluster for one test."""
    import psycopg

    name = "t_" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:12]
    with psycopg.connect(f"{postgres.replace('+psycopg', '')}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return f"{postgres}/{name}"
