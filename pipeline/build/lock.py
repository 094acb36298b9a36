"""One build per store at a time.

* SQLite store: a :class:`filelock.FileLock` on ``<database>.build.lock`` beside the file;
  the OS releases it when the process dies, so a killed build never leaves a stale lock.
* PostgreSQL store: a session-level ``pg_try_advisory_lock`` held on one dedicated
  connection for the build's life; it too ends with the session.

A second build fails at once with a :class:`~pipeline.errors.BuildBusyError` (exit code 75,
"try again later": the store is fine, it is only taken). A store URL that cannot be locked
is a :class:`~pipeline.errors.ConfigError` (exit code 2).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from filelock import FileLock, Timeout
from sqlalchemy import text
from sqlalchemy.engine import make_url

from pipeline.errors import BuildBusyError, ConfigError
from pipeline.store.db import Store

# A fixed 63-bit key: every press build on one PostgreSQL database contends for it.
ADVISORY_KEY = int.from_bytes(hashlib.sha256(b"evidence-press build").digest()[:8], "big") >> 1

_HINT = (
    "Wait for the running build to finish (a killed build releases its lock), or point this "
    "one at another store."
)


@contextmanager
def build_lock(store: Store) -> Iterator[None]:
    """Hold the store's build lock for the ``with`` block; BuildBusyError if another holds it."""
    url = make_url(store.url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        database = url.database
        if not database or database == ":memory:":
            yield  # a private in-memory store: nobody else can build on it
            return
        lock = FileLock(f"{database}.build.lock")
        try:
            lock.acquire(timeout=0)
        except Timeout as exc:
            raise BuildBusyError(
                f"Another build is running on this store (lock {lock.lock_file})", _HINT
            ) from exc
        try:
            yield
        finally:
            lock.release()
        return
    if backend == "postgresql":
        with store.engine.connect() as conn:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY})
            acquired = bool(got.scalar())
            conn.commit()
            if not acquired:
                raise BuildBusyError("Another build is running on this PostgreSQL store", _HINT)
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
                conn.commit()
        return
    raise ConfigError(
        f"Builds cannot lock a {backend} store",
        "Use the SQLite default or PostgreSQL (store.url = postgresql+psycopg://…).",
    )
