"""The indexes an evaluation runs on, when it is not the configured index as it stands.

Design
------
* **Evaluation corpora** (``press eval … --corpus FILE``) are ingested into their own index
  under ``<home>/eval-indexes/<corpus sha256>-<hash of the embeddings and chunking settings>/``
  (:func:`open_corpus_index`) and reused while the corpus bytes and those settings are
  unchanged. A ``ready.json`` marker naming the build is written only after a complete
  ingest, so an interrupted build is redone from scratch. A reused index is reconciled first
  (:meth:`~pipeline.index.hybrid.Index.reconcile`, cheap when nothing is missing), which also
  fills in vectors that an index option switched on since then needs. BM25 parameters are
  not part of the key because the index rebuilds its BM25 index when they differ.
* **The configured index re-embedded by a trained bi-encoder** (``press eval retrieval
  --compare-embeddings NAME``, :func:`open_rebuilt_index`): the passage database is copied
  with SQLite's online backup (consistent even while another process writes) into
  ``<home>/eval-indexes/rebuilt-<db id>-<hash>/`` and re-embedded there by
  :meth:`~pipeline.index.hybrid.Index.rebuild`, as ``press index rebuild`` would, without
  touching the user's index. It is reused while the corpus version and the model are the
  same, so comparing again costs nothing.
* A trained bi-encoder is keyed by its model file's id as well as its name, so an index
  embedded by an earlier training run of the same name is never reused.
* Evaluation indexes are always local (``chroma_mode = persistent``), so they never touch a
  shared Chroma server's collection, and read trained models from the user's models folder.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import uuid
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import atomic
from pipeline.errors import EvalSetError
from pipeline.evaluate.sets import corpus_digest
from pipeline.index.embeddings import bi_encoder_name
from pipeline.index.hybrid import Index
from pipeline.ingest.run import EventFn, ingest
from pipeline.models.corpus import short_hash
from pipeline.settings.load import Settings

__all__ = [
    "CorpusIndex",
    "eval_index_dir",
    "open_corpus_index",
    "open_rebuilt_index",
    "rebuilt_index_dir",
]


@dataclass
class CorpusIndex:
    """An evaluation index built from (or reused for) one corpus file."""

    index: Index
    settings: Settings
    reused: bool
    messages: list[str] = field(default_factory=list)


def _shaping_digest(settings: Settings) -> str:
    """A hash of what shapes an index's passages and vectors.

    A trained bi-encoder (``embeddings.model``) is keyed by its model file's id as well as
    its name, so an index embedded by an earlier training run of that name is not reused.
    """
    shaping: dict[str, Any] = {
        "embeddings": settings.embeddings.model_dump(mode="json"),
        "chunking": settings.chunking.model_dump(mode="json"),
    }
    if settings.embeddings.model is not None:
        shaping["model"] = bi_encoder_name(settings, settings.embeddings.model)
    return short_hash(json.dumps(shaping, sort_keys=True), length=8)


def eval_index_dir(settings: Settings, corpus: Path) -> Path:
    """The folder of ``corpus``'s evaluation indexes (see the module docstring)."""
    name = f"{corpus_digest(corpus)[:16]}-{_shaping_digest(settings)}"
    return settings.home / "eval-indexes" / name


def _settings_at(settings: Settings, home: Path) -> Settings:
    """``settings`` with the evaluation index's own home; trained models stay the user's."""
    index_settings = settings.index.model_copy(update={"chroma_mode": "persistent"})
    return settings.model_copy(
        update={"home": home, "index": index_settings, "models": settings.models_dir}
    )


def _new_build(folder: Path, settings: Settings) -> Settings:
    """``settings`` at a fresh ``build-<id>`` folder in ``folder``, earlier builds removed.

    An unfinished build's folder is removed, never reopened, because an embedded Chroma
    client caches its folder for the life of the process.
    """
    for stale in folder.glob("build-*"):
        shutil.rmtree(stale, ignore_errors=True)
    return _settings_at(settings, folder / f"build-{uuid.uuid4().hex[:12]}")


def _ready(folder: Path, digest: str, key: str = "sha256") -> Path | None:
    """The complete build recorded in ``folder/ready.json`` for this corpus, if any.

    ``key`` names the marker's field that must equal ``digest``: the corpus file's sha256,
    or the corpus version of a re-embedded index.
    """
    try:
        ready = json.loads((folder / "ready.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    build = folder / str(ready.get("build", ""))
    if ready.get(key) != digest or not ready.get("build") or not build.is_dir():
        return None
    return build


def open_corpus_index(
    corpus: Path, settings: Settings, *, on_event: EventFn | None = None
) -> CorpusIndex:
    """Open the evaluation index of ``corpus``, ingesting it first unless a complete one exists.

    Each build goes into a new ``build-<id>`` subfolder that ``ready.json`` names once it
    is complete; an unfinished build's folder is removed, never reopened, because an
    embedded Chroma client caches its folder for the life of the process.
    """
    folder = eval_index_dir(settings, corpus)
    digest = corpus_digest(corpus)
    progress = (lambda n: on_event("embedded", n)) if on_event else None
    build = _ready(folder, digest)
    if build is not None:
        eval_settings = _settings_at(settings, build)
        index = Index(eval_settings)
        with index.writer_lock():
            index.reconcile(progress)
        return CorpusIndex(index, eval_settings, reused=True)
    eval_settings = _new_build(folder, settings)
    build = eval_settings.home
    index = Index(eval_settings)
    report = ingest([corpus], index, on_event=on_event)
    messages = [m for outcome in report.files for m in outcome.messages]
    if report.failed or not report.total("citations"):
        index.close()
        raise EvalSetError(
            f"the corpus {corpus} could not be ingested: {'; '.join(messages) or 'no citations'}",
            "Pass a canonical citation JSONL file (one record per line) with --corpus.",
        )
    marker = {
        "sha256": digest,
        "build": build.name,
        "corpus": str(corpus.resolve()),
        "corpus_version": report.corpus_version,
        "citations": report.total("citations"),
        "passages": report.total("added"),
    }
    atomic.write_json(folder / "ready.json", marker)
    return CorpusIndex(index, eval_settings, reused=False, messages=messages)


def rebuilt_index_dir(index: Index, settings: Settings) -> Path:
    """The folder of ``index`` re-embedded under ``settings`` (see the module docstring)."""
    name = f"rebuilt-{index.db_id[:12]}-{_shaping_digest(settings)}"
    return settings.home / "eval-indexes" / name


def open_rebuilt_index(
    index: Index, model: str, *, progress: Callable[[int], None] | None = None
) -> CorpusIndex:
    """``index``'s passages re-embedded by trained bi-encoder ``model``, in a folder of its own.

    ``reused`` says whether an earlier copy of the same corpus version and model served.
    ``progress`` is called with the number of passages embedded as the rebuild goes.
    """
    embeddings = index.settings.embeddings.model_copy(update={"model": model})
    wanted = index.settings.model_copy(update={"embeddings": embeddings})
    folder = rebuilt_index_dir(index, wanted)
    version = index.passage_db.corpus_version()
    build = _ready(folder, version, key="corpus_version")
    if build is not None:
        reused = _settings_at(wanted, build)
        return CorpusIndex(Index(reused), reused, reused=True)
    rebuilt_settings = _new_build(folder, wanted)
    build = rebuilt_settings.home
    rebuilt_settings.index_dir.mkdir(parents=True)
    copy = rebuilt_settings.index_dir / index.passage_db.path.name
    with (
        closing(sqlite3.connect(index.passage_db.path)) as source,
        closing(sqlite3.connect(copy)) as target,
    ):
        source.backup(target)
    rebuilt = Index(rebuilt_settings)
    passages = rebuilt.rebuild(progress)
    atomic.write_json(
        folder / "ready.json",
        {"corpus_version": version, "build": build.name, "model": model, "passages": passages},
    )
    return CorpusIndex(rebuilt, rebuilt_settings, reused=False)
