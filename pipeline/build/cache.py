"""The build cache key: decides, without retrieval or an LLM call, whether to redraft.

A question's key is (question, audience, corpus version, prompt versions, model, drafter,
settings hash). The settings hash covers only the fields that change what is drafted (each
settings group's ``DRAFTING`` set, :func:`pipeline.settings.report.settings_hash`): a thread
count, a timeout or a retry limit leaves every question unchanged. Every stored revision
already records all of these (its provenance columns), so the "cache" is the store itself:
the key expected now is compared with the fields of the article's *current* revision.
Equal → the revision is reused ("unchanged"); different or no article yet → draft. Nothing
is read but the passage ids (for the corpus version, once per build) and one article row
per question.

When a re-draft produces exactly the current text, the workflow keeps the existing
(immutable) revision — and its approval — whose provenance still records the older inputs.
The store then records the key that revision was confirmed under
(:mod:`pipeline.store.build_state`), so the next build finds it unchanged instead of paying
for the same draft every night. This module only computes and compares keys; it reads and
writes no table.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from pipeline.store.records import RevisionRecord


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
