"""The article store's database: the :class:`Store`, its engine and its two write transactions.

Design
------
One SQLAlchemy engine on a URL: an SQLite file by default (``sqlite:///<home>/press.sqlite``),
PostgreSQL by changing ``store.url``. Opening a :class:`Store` applies any pending migration
(:mod:`pipeline.store.migrations`). Tables (:mod:`pipeline.store.schema`):

* ``users`` and ``user_roles`` (author, reviewer, publisher, admin; a user may hold several);
* ``articles``: identity (slug, question, audience), the review state of the current
  revision and a ``version`` counter for optimistic locking;
* ``revisions``: immutable; the Article JSON plus the EvidenceSet JSON it was checked
  against, the content hash (:mod:`pipeline.store.content`) and provenance (corpus version,
  prompt versions, model, drafter, settings hash, author);
* ``review_log``: append-only; one row per transition (namespaced action, actor, revision,
  the revision's content hash, comment, time);
* ``publications``: which approved revision went live under which approval, and its retraction.

Immutability is enforced twice: this module has no method that updates or deletes a log or
revision row, and database triggers raise on any UPDATE or DELETE of those tables.

Every write goes through a :class:`Transaction`. :meth:`Store.update_article` opens it with
``UPDATE articles SET version = version + 1 WHERE id = ? AND version = ?`` — the version the
caller read — and raises :class:`~pipeline.errors.ConcurrentUpdateError` when no row matched,
so of two simultaneous actions on one article the second fails cleanly and writes nothing.
On SQLite write transactions start with ``BEGIN IMMEDIATE`` (writers queue on the file lock
for ``store.busy_timeout_s`` instead of failing mid-transaction).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, and_, create_engine, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from pipeline.errors import ConcurrentUpdateError, NotFoundError, PressError, StoreError
from pipeline.settings.load import Settings
from pipeline.sqlite import use_sqlite_transactions
from pipeline.store import schema
from pipeline.store.migration_steps import MIGRATIONS
from pipeline.store.migrations import applied, create_store, upgrade
from pipeline.store.records import (
    ArticleRecord,
    LogEntry,
    Publication,
    RevisionRecord,
    User,
)
from pipeline.store.rows import (
    article_record,
    inserted_id,
    log_query,
    log_record,
    revision_query,
    revision_record,
    user_record,
)
from pipeline.store.transaction import Transaction


def store_url(settings: Settings) -> str:
    """The configured store URL, or the SQLite file under the home folder."""
    return settings.store.url or f"sqlite:///{settings.home / 'press.sqlite'}"


class Store:
    """Typed access to the article store (see the module docstring for the design)."""

    def __init__(self, url: str, *, busy_timeout_s: float = 30.0) -> None:
        self.url = url
        self.engine: Engine = _engine(url, busy_timeout_s)
        try:
            with self._errors("migrate"):
                self.migrated = upgrade(self.engine, MIGRATIONS, create_store)
        except StoreError:
            self.engine.dispose()
            raise

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        """Open the store the settings point at."""
        return cls(store_url(settings), busy_timeout_s=settings.store.busy_timeout_s)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def migrations(self) -> list[str]:
        """Names of the migrations applied to this store, in order."""
        with self._read() as conn:
            return applied(conn)

    # users -------------------------------------------------------------------------------

    def find_user(self, name: str) -> User | None:
        """The user called ``name``, or ``None``."""
        with self._read() as conn:
            row = conn.execute(select(schema.users).where(schema.users.c.name == name)).first()
            return None if row is None else user_record(conn, row._mapping)

    def user(self, name: str) -> User:
        """The user called ``name``; :class:`NotFoundError` with a hint when unknown."""
        found = self.find_user(name)
        if found is None:
            raise NotFoundError(
                f"No user {name!r} in the store",
                f"Add them first: `press users add {name} --role author|reviewer|publisher`.",
            )
        return found

    def users(self) -> list[User]:
        """Every user, by name."""
        with self._read() as conn:
            rows = conn.execute(select(schema.users).order_by(schema.users.c.name))
            return [user_record(conn, row._mapping) for row in rows]

    def add_user(self, name: str, roles: Iterable[str], *, granted_by: int | None, at: str) -> User:
        """Create ``name`` if needed and grant each role they do not hold yet."""
        with self._errors("add a user"), self._write() as conn:
            row = conn.execute(select(schema.users).where(schema.users.c.name == name)).first()
            if row is None:
                user_id = inserted_id(
                    conn.execute(insert(schema.users).values(name=name, created_at=at))
                )
            else:
                user_id = row._mapping["id"]
            held = set(
                conn.scalars(
                    select(schema.user_roles.c.role).where(schema.user_roles.c.user_id == user_id)
                )
            )
            for role in sorted(set(roles) - held):
                conn.execute(
                    insert(schema.user_roles).values(
                        user_id=user_id, role=role, granted_by=granted_by, granted_at=at
                    )
                )
        return self.user(name)

    # articles ----------------------------------------------------------------------------

    def find_article(
        self, *, slug: str | None = None, question: str | None = None, audience: str | None = None
    ) -> ArticleRecord | None:
        """The article with this slug, or with this question and audience; else ``None``."""
        table = schema.articles
        query = select(table).where(table.c.revision_id.is_not(None))
        if slug is not None:
            query = query.where(table.c.slug == slug)
        else:
            query = query.where(and_(table.c.question == question, table.c.audience == audience))
        with self._read() as conn:
            row = conn.execute(query).first()
        return None if row is None else article_record(row._mapping)

    def article(self, slug: str) -> ArticleRecord:
        """The article with this slug; :class:`NotFoundError` with a hint when unknown."""
        found = self.find_article(slug=slug)
        if found is None:
            raise NotFoundError(
                f"No article {slug!r} in the store",
                "`press status` lists the stored articles; `press draft` stores a new one.",
            )
        return found

    def articles(self) -> list[ArticleRecord]:
        """Every article, by slug."""
        table = schema.articles
        with self._read() as conn:
            rows = conn.execute(
                select(table).where(table.c.revision_id.is_not(None)).order_by(table.c.slug)
            )
            return [article_record(row._mapping) for row in rows]

    def slug_taken(self, slug: str) -> bool:
        """True when an article already uses ``slug``."""
        with self._read() as conn:
            found = conn.execute(
                select(schema.articles.c.id).where(schema.articles.c.slug == slug)
            ).first()
        return found is not None

    # revisions ---------------------------------------------------------------------------

    def revision(self, revision_id: int) -> RevisionRecord:
        """One revision by its database id."""
        return self._one_revision(schema.revisions.c.id == revision_id, f"id {revision_id}")

    def revision_by_number(self, article: ArticleRecord, number: int) -> RevisionRecord:
        """Revision ``r<number>`` of ``article``."""
        table = schema.revisions
        where = and_(table.c.article_id == article.id, table.c.number == number)
        return self._one_revision(where, f"r{number} of {article.slug!r}")

    def revisions(self, article: ArticleRecord) -> list[RevisionRecord]:
        """Every revision of ``article``, oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                revision_query()
                .where(schema.revisions.c.article_id == article.id)
                .order_by(schema.revisions.c.number)
            )
            return [revision_record(row._mapping) for row in rows]

    def _one_revision(self, where: Any, label: str) -> RevisionRecord:
        with self._read() as conn:
            row = conn.execute(revision_query().where(where)).first()
        if row is None:
            raise NotFoundError(f"No revision {label}", "`press history SLUG` lists revisions.")
        return revision_record(row._mapping)

    # review log and publications ---------------------------------------------------------

    def log(self, article: ArticleRecord | None = None) -> list[LogEntry]:
        """The review log (of one article, or all), oldest first."""
        query = log_query().order_by(schema.review_log.c.id)
        if article is not None:
            query = query.where(schema.review_log.c.article_id == article.id)
        with self._read() as conn:
            return [log_record(row._mapping) for row in conn.execute(query)]

    def acknowledgements(self, revision_id: int) -> dict[int, LogEntry]:
        """Acknowledged checks of one revision: check index → the log row (actor, reason)."""
        ack = schema.acknowledgements
        query = (
            log_query()
            .add_columns(ack.c.check_index)
            .join(ack, ack.c.log_id == schema.review_log.c.id)
            .where(schema.review_log.c.revision_id == revision_id)
            .order_by(schema.review_log.c.id)
        )
        with self._read() as conn:
            return {
                row._mapping["check_index"]: log_record(row._mapping) for row in conn.execute(query)
            }

    def article_author(self, article: ArticleRecord) -> str:
        """Who wrote the article: the author of its first revision (later ones may differ)."""
        return self.revision_by_number(article, 1).author

    def publications(self, article: ArticleRecord | None = None) -> list[Publication]:
        """Every publication (of one article, or all), oldest first, retracted ones included."""
        table = schema.publications
        query = select(table).order_by(table.c.id)
        if article is not None:
            query = query.where(table.c.article_id == article.id)
        with self._read() as conn:
            rows = [row._mapping for row in conn.execute(query)]
            ids = {r[key] for r in rows for key in ("approval_id", "publish_id", "retract_id")}
            entries = {
                e.id: e
                for e in (
                    log_record(row._mapping)
                    for row in conn.execute(
                        log_query().where(schema.review_log.c.id.in_(ids - {None}))
                    )
                )
            }
        return [
            Publication(
                id=r["id"],
                article_id=r["article_id"],
                revision_id=r["revision_id"],
                content_hash=r["content_hash"],
                approval=entries[r["approval_id"]],
                publish=entries[r["publish_id"]],
                retract=entries.get(r["retract_id"]) if r["retract_id"] else None,
            )
            for r in rows
        ]

    # writes ------------------------------------------------------------------------------

    @contextmanager
    def create_article(
        self, *, slug: str, question: str, audience: str, at: str
    ) -> Iterator[Transaction]:
        """A transaction that inserts a new article row (its state is set by the caller).

        Another process inserting the same slug or question first makes this raise
        :class:`ConcurrentUpdateError`.
        """
        with self._errors("create the article"), self._write() as conn:
            try:
                article_id = inserted_id(
                    conn.execute(
                        insert(schema.articles).values(
                            slug=slug,
                            question=question,
                            audience=audience,
                            status="draft",
                            version=1,
                            created_at=at,
                            updated_at=at,
                        )
                    )
                )
            except IntegrityError as exc:
                raise ConcurrentUpdateError(
                    f"Another action stored an article {slug!r} (or this question) first",
                    "Run the command again: it will add a revision to that article.",
                ) from exc
            yield Transaction(conn, article_id, at)

    @contextmanager
    def update_article(self, article: ArticleRecord, *, at: str) -> Iterator[Transaction]:
        """A transaction on ``article`` that only starts if nobody changed it since it was read."""
        with self._errors(f"update {article.slug!r}"), self._write() as conn:
            table = schema.articles
            result = conn.execute(
                update(table)
                .where(and_(table.c.id == article.id, table.c.version == article.version))
                .values(version=table.c.version + 1, updated_at=at)
            )
            if result.rowcount != 1:
                raise ConcurrentUpdateError(
                    f"{article.slug!r} was changed by someone else while this action ran",
                    f"Nothing was written. Check `press status {article.slug}` and run the "
                    "command again if it still applies.",
                )
            yield Transaction(conn, article.id, at)

    # plumbing ----------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._errors("read"), self.engine.connect() as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except PressError:
            raise
        except SQLAlchemyError as exc:
            raise StoreError(
                f"The article store at {_display(self.url)} could not {doing}: "
                f"{str(exc.orig if hasattr(exc, 'orig') else exc).strip()}",
                "Check store.url (PRESS_STORE__URL) and that the database is reachable "
                "and writable.",
            ) from exc


def _engine(url: str, busy_timeout_s: float) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": busy_timeout_s})
    use_sqlite_transactions(engine, {"foreign_keys": "ON", "journal_mode": "WAL"})
    return engine


def _display(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
