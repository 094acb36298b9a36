"""Storing what a drafting run produced, and telling a new revision from an unchanged one.

``press draft``, ``press build`` and the desk all end a drafting run the same way: the
article and the evidence it was checked against go through
:meth:`~pipeline.review.workflow.Workflow.store_draft`, which adds a draft revision (or a new
article) — or, when the run reproduced the current revision's text exactly, stores nothing
and returns that revision so an existing approval survives. :func:`store_run` does that and
says which of the two happened (:attr:`StoredDraft.unchanged`), so callers report it without
comparing revision ids themselves. Printing the outcome is the caller's business (the CLI
prints one line, a build writes its report row).

Follow-ups are drafted, stored and linked by :func:`pipeline.review.follow_up.draft_follow_up`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.models.article import Article
from pipeline.models.evidence import EvidenceSet
from pipeline.review.workflow import Workflow
from pipeline.store.records import ArticleRecord, RevisionRecord


@dataclass(frozen=True)
class StoredDraft:
    """The outcome of storing one run: its revision, the article after it, and whether the
    run only reproduced the current revision (nothing was stored)."""

    revision: RevisionRecord
    article: ArticleRecord
    unchanged: bool


def store_run(flow: Workflow, author: str, article: Article, evidence: EvidenceSet) -> StoredDraft:
    """Store ``article`` (checked against ``evidence``) as a draft by ``author``.

    A new article, a new revision of the article with the same question and audience, or —
    when the text equals the current revision's — nothing (``unchanged``).
    """
    before = flow.store.find_article(question=article.question, audience=article.audience)
    revision = flow.store_draft(author, article, evidence)
    record = flow.store.article(revision.article().slug)
    unchanged = before is not None and revision.id == before.state.revision_id
    return StoredDraft(revision, record, unchanged)
