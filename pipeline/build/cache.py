"""The build cache key: decides, without retrieval or an LLM call, whether to redraft.

A question's key is (question, audience, corpus version, prompt versions, model, drafter,
settings hash). The settings hash covers only the fields that change what is drafted (each
settings group's ``DRAFTING`` set, :func:`pipeline.settings.settings_hash`): a thread
count, a timeout or a retry limit leaves every question unchanged. Every stored revision
already records all of these (its provenance columns), so the "cache" is the store itself:
the key expected now is compared with the fields of the article's *current* revision.
Equal → the revision is reused ("unchanged"); different or no article yet → draft. Nothing
is read but the passage ids (for the corpus version, once per build) and one article row
per question.

When a re-draft produces exactly the current text, the workflow keeps the existing
(immutable) revision — and its approval — whose provenance still records the older inputs.
The ``build_state`` table (migration ``m004_build_state``) then records the key that
revision was confirmed under, so the next build finds it unchanged instead of paying for
the same draft every night.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, delete, insert, select

from pipeline.store.db import Store
from pipeline.store.records import RevisionRecord
from pipeline.store.schema import build_state


@dataclass(frozen=True)
class BuildInputs:
    """What every question of one build shares: the inputs that shape a draft."""

    corpus_version: str
    prompt_versions: dict[str, str]
    model: str | None
    drafter: str
    settings_hash: str


@dataclass(frozen=True)
class CacheKey:
    """One question's key; :attr:`digest` is a short hash for reports and logs."""

    question: str
    audience: str
    inputs: BuildInputs

    @property
    def digest(self) -> str:
        """A 16-hex-digit hash of every field."""
        blob = json.dumps(
            [
                self.question,
                self.audience,
                self.inputs.corpus_version,
                self.inputs.prompt_versions,
                self.inputs.model,
                self.inputs.drafter,
                self.inputs.settings_hash,
            ],
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def differences(key: CacheKey, revision: RevisionRecord) -> list[str]:
    """Names of the inputs in which ``revision`` differs from ``key`` (empty = unchanged)."""
    inputs = key.inputs
    recorded = {
        "corpus_version": revision.corpus_version,
        "prompt_versions": revision.prompt_versions,
        "model": revision.model,
        "drafter": revision.drafter,
        "settings_hash": revision.settings_hash,
    }
    expected = {
        "corpus_version": inputs.corpus_version,
        "prompt_versions": inputs.prompt_versions,
        "model": inputs.model,
        "drafter": inputs.drafter,
        "settings_hash": inputs.settings_hash,
    }
    return [name for name in expected if expected[name] != recorded[name]]


def confirmed_key(store: Store, article_id: int, revision_id: int) -> str | None:
    """The key digest a build confirmed for this revision of the article, if any."""
    table = build_state
    query = select(table.c.build_key).where(
        and_(table.c.article_id == article_id, table.c.revision_id == revision_id)
    )
    with store.engine.connect() as conn:
        return conn.execute(query).scalar_one_or_none()


def confirm_key(store: Store, article_id: int, revision_id: int, digest: str) -> None:
    """Record that ``revision_id`` is what the inputs of key ``digest`` produce."""
    table = build_state
    at = datetime.now(UTC)
    with store.engine.connect() as conn:
        conn.execution_options(sqlite_begin="IMMEDIATE")  # a writer, as the store's own
        with conn.begin():
            conn.execute(delete(table).where(table.c.article_id == article_id))
            conn.execute(
                insert(table).values(
                    article_id=article_id, revision_id=revision_id, build_key=digest, updated_at=at
                )
            )
