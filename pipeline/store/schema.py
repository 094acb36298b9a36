"""The article store's schema: the one definition of its tables (what queries are written against).

The tables are *created and changed* only by the named migrations in
:mod:`pipeline.store.migration_steps`, which record the history of changes (each names only what
it adds or alters); this module is the target they lead to. ``tests/store/test_migrations.py``
compares a database migrated step by step from empty with this metadata (Alembic's
``compare_metadata``: types, nullability, keys, indexes). To change the schema, change it
here and append the migration that gets an existing store there.

Every time column is a :class:`~pipeline.store.timestamps.UTCDateTime` (aware, UTC).

``articles.revision_id`` and ``articles.published_revision_id`` point at ``revisions`` but
carry no foreign key: the two tables would reference each other, and every write goes
through :class:`pipeline.store.transaction.Transaction`, which inserts the revision before
pointing at it.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, Text, UniqueConstraint

from pipeline.store.timestamps import UTCDateTime

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("status", String(20), nullable=False, server_default="active"),
)
"""``status``: ``active``, ``disabled`` (may not sign in or act) or ``removed`` (the same, for
good; the row stays because revisions and the review log name it)."""

user_roles = Table(
    "user_roles",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("role", String(20), primary_key=True),
    Column("granted_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("granted_at", UTCDateTime, nullable=False),
)

articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(200), nullable=False, unique=True),
    Column("question", Text, nullable=False),
    Column("audience", String(20), nullable=False),
    Column("status", String(30), nullable=False),
    Column("revision_id", Integer, nullable=True),
    Column("revision_hash", String(64), nullable=True),
    Column("approved_hash", String(64), nullable=True),
    Column("published_revision_id", Integer, nullable=True),
    Column("published_hash", String(64), nullable=True),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("question", "audience", name="uq_articles_question_audience"),
)

revisions = Table(
    "revisions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", Integer, ForeignKey("articles.id"), nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("parent_id", Integer, ForeignKey("revisions.id"), nullable=True),
    Column("content_hash", String(64), nullable=False),
    Column("article_json", Text, nullable=False),
    Column("evidence_json", Text, nullable=False),
    Column("corpus_version", String(64), nullable=False),
    Column("prompt_versions", Text, nullable=False),
    Column("model", String(200), nullable=True),
    Column("drafter", String(20), nullable=False),
    Column("settings_hash", String(64), nullable=False),
    Column("author_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("article_id", "number", name="uq_revisions_article_number"),
)

review_log = Table(
    "review_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", Integer, ForeignKey("articles.id"), nullable=False, index=True),
    Column("revision_id", Integer, ForeignKey("revisions.id"), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("action", String(40), nullable=False),
    Column("actor_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("comment", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

publications = Table(
    "publications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", Integer, ForeignKey("articles.id"), nullable=False, index=True),
    Column("revision_id", Integer, ForeignKey("revisions.id"), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("approval_id", Integer, ForeignKey("review_log.id"), nullable=False),
    Column("publish_id", Integer, ForeignKey("review_log.id"), nullable=False),
    Column("retract_id", Integer, ForeignKey("review_log.id"), nullable=True),
)

credentials = Table(
    "credentials",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("password_hash", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
"""One password hash per user who may sign in to the web desk (argon2, see pipeline.web)."""

follow_ups = Table(
    "follow_ups",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id"), primary_key=True),
    Column("parent_id", Integer, ForeignKey("articles.id"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
)
"""A follow-up question's article and the published article it was asked from."""

build_state = Table(
    "build_state",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id"), primary_key=True),
    Column("revision_id", Integer, ForeignKey("revisions.id"), nullable=False),
    Column("build_key", String(64), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
"""The build cache key a `press build` re-draft confirmed for an article's revision (a re-draft
identical to the current text keeps that revision, whose provenance records older inputs)."""

sessions = Table(
    "sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("address", String(100), nullable=False),
    Column("user_agent", String(300), nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("end_reason", String(100), nullable=True),
)
"""One row per desk sign-in; the cookie carries a random token whose SHA-256 is ``token_hash``."""

acknowledgements = Table(
    "acknowledgements",
    metadata,
    Column("log_id", Integer, ForeignKey("review_log.id"), primary_key=True),
    Column("check_index", Integer, nullable=False),
    Column("subject", Text, nullable=False),
)
"""A reviewer's acknowledgement of one flagged check (``Article.checks[check_index]``) of the
revision its ``review.acknowledge`` log row names; the row's comment is the reason."""

APPEND_ONLY = ("review_log", "revisions")
"""Tables whose rows are never updated or deleted (enforced by database triggers)."""
