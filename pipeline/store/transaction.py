"""The only way to change an article: one database transaction holding its optimistic lock.

A :class:`Transaction` is handed out by :meth:`pipeline.store.db.Store.create_article` or
:meth:`pipeline.store.db.Store.update_article` after the article row has been inserted or its
version bumped, so everything written through it commits together or not at all. It can
insert a revision, append a log row, set the article's review state and record or retract a
publication; it has no method that changes or removes a revision or a log row.
"""

from __future__ import annotations

from sqlalchemy import Connection, insert, update

from pipeline.models.article import Article
from pipeline.models.evidence import EvidenceSet
from pipeline.store import schema
from pipeline.store.records import ArticleState, RevisionRecord
from pipeline.store.rows import inserted_id


class Transaction:
    """Writes on one article inside one open database transaction."""

    def __init__(self, conn: Connection, article_id: int, at: str) -> None:
        self.conn = conn
        self.article_id = article_id
        self.at = at

    def add_revision(
        self,
        *,
        number: int,
        parent_id: int | None,
        content_hash: str,
        article: Article,
        evidence: EvidenceSet,
        author_id: int,
    ) -> int:
        """Insert an immutable revision of the article; returns its id."""
        prov = article.provenance
        result = self.conn.execute(
            insert(schema.revisions).values(
                article_id=self.article_id,
                number=number,
                parent_id=parent_id,
                content_hash=content_hash,
                article_json=article.model_dump_json(),
                evidence_json=evidence.model_dump_json(),
                corpus_version=prov.corpus_version or evidence.corpus_version,
                prompt_versions=RevisionRecord.encode_prompts(prov.prompt_versions),
                model=prov.model,
                drafter=prov.drafter,
                settings_hash=prov.settings_hash,
                author_id=author_id,
                created_at=self.at,
            )
        )
        return inserted_id(result)

    def append_log(
        self,
        *,
        action: str,
        actor_id: int,
        revision_id: int,
        content_hash: str,
        comment: str | None,
    ) -> int:
        """Append one review-log row; returns its id."""
        result = self.conn.execute(
            insert(schema.review_log).values(
                article_id=self.article_id,
                revision_id=revision_id,
                content_hash=content_hash,
                action=action,
                actor_id=actor_id,
                comment=comment,
                created_at=self.at,
            )
        )
        return inserted_id(result)

    def add_acknowledgement(self, *, log_id: int, check_index: int, subject: str) -> None:
        """Tie the ``review.acknowledge`` log row ``log_id`` to the check it settles."""
        self.conn.execute(
            insert(schema.acknowledgements).values(
                log_id=log_id, check_index=check_index, subject=subject
            )
        )

    def save_state(self, state: ArticleState) -> None:
        """Store the article's new review state."""
        self.conn.execute(
            update(schema.articles)
            .where(schema.articles.c.id == self.article_id)
            .values(
                status=state.status,
                revision_id=state.revision_id,
                revision_hash=state.revision_hash,
                approved_hash=state.approved_hash,
                published_revision_id=state.published_revision_id,
                published_hash=state.published_hash,
                updated_at=self.at,
            )
        )

    def add_publication(
        self, *, revision_id: int, content_hash: str, approval_id: int, publish_id: int
    ) -> int:
        """Record that ``revision_id`` went live under the approval ``approval_id``."""
        result = self.conn.execute(
            insert(schema.publications).values(
                article_id=self.article_id,
                revision_id=revision_id,
                content_hash=content_hash,
                approval_id=approval_id,
                publish_id=publish_id,
            )
        )
        return inserted_id(result)

    def retract_publications(self, *, revision_id: int, retract_id: int) -> None:
        """Mark the live publication of ``revision_id`` as retracted by log row ``retract_id``."""
        table = schema.publications
        self.conn.execute(
            update(table)
            .where(
                table.c.article_id == self.article_id,
                table.c.revision_id == revision_id,
                table.c.retract_id.is_(None),
            )
            .values(retract_id=retract_id)
        )
