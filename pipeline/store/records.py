"""Plain, immutable records the store returns (rows joined into what callers need).

Times are aware UTC datetimes (:mod:`pipeline.store.timestamps`); its ``iso`` turns one into
the text that JSON and pages show.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from pipeline.models.article import Article
from pipeline.models.evidence import EvidenceSet


@dataclass(frozen=True)
class User:
    """A person who acts in the workflow, with the roles granted to them."""

    id: int
    name: str
    roles: frozenset[str]
    created_at: datetime
    status: str = "active"

    @property
    def active(self) -> bool:
        """False once the user is disabled or removed: they may neither sign in nor act."""
        return self.status == "active"


@dataclass(frozen=True)
class ArticleState:
    """The review state of one article: everything the workflow's guards look at.

    ``status`` is the status of the current revision (``revision_id``). ``approved_hash``
    is the content hash a reviewer approved for that revision (``None`` until approved,
    and reset by every new revision). ``published_*`` name the revision readers see, which
    may be older than the current one while an edit is in review.
    """

    status: str
    revision_id: int
    revision_hash: str
    approved_hash: str | None = None
    published_revision_id: int | None = None
    published_hash: str | None = None


@dataclass(frozen=True)
class ArticleRecord:
    """One article row: identity, its review state and the optimistic-lock version."""

    id: int
    slug: str
    question: str
    audience: str
    state: ArticleState
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class RevisionRecord:
    """One immutable revision: the article and evidence JSON, its hash and provenance."""

    id: int
    article_id: int
    number: int
    parent_id: int | None
    content_hash: str
    author: str
    created_at: datetime
    corpus_version: str
    prompt_versions: dict[str, str]
    model: str | None
    drafter: str
    settings_hash: str
    article_json: str = field(repr=False)
    evidence_json: str = field(repr=False)

    @property
    def label(self) -> str:
        """The revision as users name it: ``r1``, ``r2`` …"""
        return f"r{self.number}"

    def article(self) -> Article:
        """The stored article model (status as stored: ``draft``)."""
        return Article.model_validate_json(self.article_json)

    def evidence(self) -> EvidenceSet:
        """The evidence set the article was checked against."""
        return EvidenceSet.model_validate_json(self.evidence_json)

    @staticmethod
    def encode_prompts(prompt_versions: dict[str, str]) -> str:
        """Prompt versions as stored in the ``prompt_versions`` column."""
        return json.dumps(prompt_versions, sort_keys=True)


@dataclass(frozen=True)
class LogEntry:
    """One append-only review-log row: who did what to which revision, when, and why."""

    id: int
    article_id: int
    revision_id: int
    revision_number: int
    content_hash: str
    action: str
    actor: str
    comment: str | None
    created_at: datetime


@dataclass(frozen=True)
class Publication:
    """A revision that was published, with the approval it was published under."""

    id: int
    article_id: int
    revision_id: int
    content_hash: str
    approval: LogEntry
    publish: LogEntry
    retract: LogEntry | None
