"""Links between a follow-up question's article and the published article it was asked from.

One row per follow-up in the ``follow_ups`` table (migration ``m003``): ``article_id`` is the
primary key, so an article has at most one parent, and the first link wins — asking the same
follow-up again from another article adds a revision to the existing follow-up but does not
move it. The link is written after the draft is stored (:func:`pipeline.review.follow_up
.request_follow_up`); the workflow itself does not look at it, so a follow-up goes through
exactly the same review as any other article.
"""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from pipeline.store import schema
from pipeline.store.db import Store
from pipeline.store.records import ArticleRecord
from pipeline.store.rows import article_record


class FollowUps:
    """Reads and writes the follow-up links of one :class:`~pipeline.store.db.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def link_follow_up(self, article: ArticleRecord, parent: ArticleRecord, *, at: str) -> bool:
        """Record ``article`` as a follow-up of ``parent``; False when it already has a parent."""
        table = schema.follow_ups
        with self.store._errors("link the follow-up"):
            try:
                with self.store._write() as conn:
                    found = conn.execute(
                        select(table.c.parent_id).where(table.c.article_id == article.id)
                    ).first()
                    if found is not None:
                        return False
                    conn.execute(
                        insert(table).values(
                            article_id=article.id, parent_id=parent.id, created_at=at
                        )
                    )
            except IntegrityError:  # another process linked it first: the first link wins
                return False
        return True

    def follow_ups_of(self, parent: ArticleRecord) -> list[ArticleRecord]:
        """The articles asked as follow-ups of ``parent``, oldest link first."""
        links, articles = schema.follow_ups, schema.articles
        query = (
            select(articles)
            .join(links, links.c.article_id == articles.c.id)
            .where(links.c.parent_id == parent.id, articles.c.revision_id.is_not(None))
            .order_by(links.c.created_at, articles.c.id)
        )
        with self.store._read() as conn:
            return [article_record(row._mapping) for row in conn.execute(query)]

    def parent_of(self, article: ArticleRecord) -> ArticleRecord | None:
        """The article ``article`` was asked as a follow-up of, or ``None``."""
        links, articles = schema.follow_ups, schema.articles
        query = (
            select(articles)
            .join(links, links.c.parent_id == articles.c.id)
            .where(links.c.article_id == article.id)
        )
        with self.store._read() as conn:
            row = conn.execute(query).first()
        return None if row is None else article_record(row._mapping)

    def lineage(self, article: ArticleRecord) -> tuple[str | None, list[str]]:
        """The slug of the article's parent (``None`` unless it is a follow-up) and the slugs
        of its own follow-ups."""
        parent = self.parent_of(article)
        return None if parent is None else parent.slug, [
            a.slug for a in self.follow_ups_of(article)
        ]
