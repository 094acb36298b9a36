"""Row → record conversion and the joined queries the store reads with."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, CursorResult, select

from pipeline.store import schema
from pipeline.store.records import ArticleRecord, ArticleState, LogEntry, RevisionRecord, User


def inserted_id(result: CursorResult[Any]) -> int:
    """The primary key of the row an INSERT just wrote."""
    key = result.inserted_primary_key
    assert key is not None, "INSERT returned no primary key"
    return int(key[0])


def user_record(conn: Connection, row: Any) -> User:
    """A users row with its roles."""
    roles = conn.scalars(
        select(schema.user_roles.c.role).where(schema.user_roles.c.user_id == row["id"])
    )
    return User(
        id=row["id"],
        name=row["name"],
        roles=frozenset(roles),
        created_at=row["created_at"],
        status=row["status"],
    )


def article_record(row: Any) -> ArticleRecord:
    """An articles row."""
    state = ArticleState(
        status=row["status"],
        revision_id=row["revision_id"],
        revision_hash=row["revision_hash"],
        approved_hash=row["approved_hash"],
        published_revision_id=row["published_revision_id"],
        published_hash=row["published_hash"],
    )
    return ArticleRecord(
        id=row["id"],
        slug=row["slug"],
        question=row["question"],
        audience=row["audience"],
        state=state,
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def revision_query() -> Any:
    """Revisions joined with their author's name."""
    table = schema.revisions
    return select(table, schema.users.c.name.label("author")).join(
        schema.users, schema.users.c.id == table.c.author_id
    )


def revision_record(row: Any) -> RevisionRecord:
    """A row of :func:`revision_query`."""
    return RevisionRecord(
        id=row["id"],
        article_id=row["article_id"],
        number=row["number"],
        parent_id=row["parent_id"],
        content_hash=row["content_hash"],
        author=row["author"],
        created_at=row["created_at"],
        corpus_version=row["corpus_version"],
        prompt_versions=json.loads(row["prompt_versions"]),
        model=row["model"],
        drafter=row["drafter"],
        settings_hash=row["settings_hash"],
        article_json=row["article_json"],
        evidence_json=row["evidence_json"],
    )


def log_query() -> Any:
    """Review-log rows joined with the actor's name and the revision number."""
    log = schema.review_log
    return (
        select(
            log,
            schema.users.c.name.label("actor"),
            schema.revisions.c.number.label("revision_number"),
        )
        .join(schema.users, schema.users.c.id == log.c.actor_id)
        .join(schema.revisions, schema.revisions.c.id == log.c.revision_id)
    )


def log_record(row: Any) -> LogEntry:
    """A row of :func:`log_query`."""
    return LogEntry(
        id=row["id"],
        article_id=row["article_id"],
        revision_id=row["revision_id"],
        revision_number=row["revision_number"],
        content_hash=row["content_hash"],
        action=row["action"],
        actor=row["actor"],
        comment=row["comment"],
        created_at=row["created_at"],
    )
