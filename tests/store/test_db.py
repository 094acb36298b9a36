"""The article store: migrations, immutability, content hashes, optimistic locking, users."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from pipeline.errors import ConcurrentUpdateError, NotFoundError, StoreError
from pipeline.models.article import Bullet
from pipeline.review.machine import Action, replay
from pipeline.review.workflow import Workflow
from pipeline.settings.load import load_settings
from pipeline.store import schema
from pipeline.store.content import canonical_content, content_hash
from pipeline.store.db import Store, store_url
from pipeline.store.migration_steps import MIGRATIONS
from pipeline.store.transaction import Transaction
from tests.support.review_factories import make_article, staffed

AT = "2026-01-05T09:30:00.123456+00:00"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'press.sqlite'}")


def test_a_fresh_store_applies_every_migration_in_order_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'press.sqlite'}"
    first = Store(url)
    assert first.migrated == [name for name, _ in MIGRATIONS]
    assert first.migrations() == [name for name, _ in MIGRATIONS]
    assert Store(url).migrated == []


def test_default_url_is_an_sqlite_file_under_home(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "h")
    assert store_url(settings) == f"sqlite:///{tmp_path / 'h' / 'press.sqlite'}"
    Store.from_settings(settings)
    assert (tmp_path / "h" / "press.sqlite").is_file()


def test_an_unopenable_url_is_a_store_error_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as info:
        Store(f"sqlite:///{tmp_path}")  # a directory, not a database file
    assert "store.url" in info.value.hint


@pytest.mark.parametrize("table", schema.APPEND_ONLY)
@pytest.mark.parametrize("statement", [f"UPDATE {{t}} SET created_at = '{AT}'", "DELETE FROM {t}"])
def test_log_and_revision_rows_cannot_be_changed_or_deleted(
    store: Store, table: str, statement: str
) -> None:
    flow = staffed(store)
    flow.store_draft("ann", *make_article())
    with pytest.raises(IntegrityError, match="append-only"), store.engine.begin() as conn:
        conn.execute(text(statement.format(t=table)))
    assert len(store.log()) == 1


def test_no_store_method_updates_or_deletes_log_rows() -> None:
    writers = {name for name in vars(Transaction) if not name.startswith("_")}
    assert writers == {
        "add_revision",
        "append_log",
        "save_state",
        "add_publication",
        "retract_publications",
        "add_acknowledgement",
    }
    assert not [name for name in vars(Store) if "delete" in name or "remove" in name]


def test_a_revision_keeps_article_evidence_and_provenance(store: Store) -> None:
    flow = staffed(store)
    article, evidence = make_article()
    revision = flow.store_draft("ann", article, evidence)
    assert revision.article().draft == article.draft
    assert revision.evidence() == evidence
    assert revision.content_hash == content_hash(article)
    assert (revision.corpus_version, revision.settings_hash, revision.drafter) == (
        "cv-test",
        "s-test",
        "extractive",
    )
    assert revision.prompt_versions == {"draft": "1"} and revision.author == "ann"
    assert revision.label == "r1" and revision.parent_id is None


def test_the_content_hash_covers_what_readers_see_only() -> None:
    article, _ = make_article()
    digest = content_hash(article)
    assert len(digest) == 64
    same = article.model_copy(
        update={"status": "approved", "last_updated": "2030-01-01", "checks": []}
    )
    assert content_hash(same) == digest
    edited = article.model_copy(deep=True)
    edited.draft.sections[0].bullets[0] = Bullet(text="Changed.", citations=[1])
    assert content_hash(edited) != digest
    relinked = article.model_copy(deep=True)
    relinked.references[0].url = "https://example.org"
    assert content_hash(relinked) != digest
    assert canonical_content(article) == canonical_content(article.model_copy(deep=True))


def test_a_stale_version_is_refused_and_writes_nothing(store: Store) -> None:
    flow = staffed(store)
    revision = flow.store_draft("ann", *make_article())
    before = store.article(revision.article().slug)
    flow.submit("ann", before.slug)
    with pytest.raises(ConcurrentUpdateError) as info, store.update_article(before, at=AT) as tx:
        tx.append_log(
            action=Action.WITHDRAW,
            actor_id=store.user("ann").id,
            revision_id=revision.id,
            content_hash=revision.content_hash,
            comment=None,
        )
    assert "Nothing was written" in info.value.hint
    assert [e.action for e in store.log()] == [Action.DRAFT, Action.SUBMIT]
    assert store.article(before.slug).version == before.version + 1


def test_a_second_article_with_the_same_question_is_a_conflict(store: Store) -> None:
    with store.create_article(slug="a", question="Q?", audience="clinician", at=AT):
        pass
    with (
        pytest.raises(ConcurrentUpdateError),
        store.create_article(slug="b", question="Q?", audience="clinician", at=AT),
    ):
        pass


def test_users_gain_roles_and_unknown_users_get_a_hint(store: Store) -> None:
    store.add_user("kim", ["author"], granted_by=None, at=AT)
    kim = store.add_user("kim", ["reviewer", "author"], granted_by=None, at=AT)
    assert kim.roles == {"author", "reviewer"}
    with pytest.raises(NotFoundError) as info:
        store.user("nobody")
    assert "press users add nobody" in info.value.hint


def test_unknown_articles_and_revisions_get_hints(store: Store) -> None:
    with pytest.raises(NotFoundError, match="No article 'nope'"):
        store.article("nope")
    flow = Workflow(store)
    flow.draft_author("ann")
    article = store.article(flow.store_draft("ann", *make_article()).article().slug)
    with pytest.raises(NotFoundError, match="No revision r9"):
        store.revision_by_number(article, 9)


# PostgreSQL (fixtures in tests/support/postgres.py) ---------------------------------------


def test_postgresql_store_runs_the_workflow_and_refuses_log_changes(pg_url: str) -> None:
    store = Store(pg_url)
    assert store.migrated == [name for name, _ in MIGRATIONS]
    again = Store(pg_url)
    assert again.migrated == [] and again.migrations() == store.migrated
    again.close()
    flow = staffed(store)
    slug = flow.store_draft("ann", *make_article()).article().slug
    flow.submit("ann", slug)
    flow.start_review("rex", slug)
    stale = store.article(slug)
    flow.approve("rex", slug)
    flow.publish("pam", slug)
    article = store.article(slug)
    assert article.state.status == "published"
    assert replay(store.log(article)) == article.state
    with pytest.raises(ConcurrentUpdateError), store.update_article(stale, at=AT):
        pass
    changes = (f"UPDATE {{t}} SET created_at = '{AT}'", "DELETE FROM {t}", "TRUNCATE {t} CASCADE")
    for statement in changes:
        for table in schema.APPEND_ONLY:
            with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
                conn.execute(text(statement.format(t=table)))
    assert len(store.log()) == 5
    store.close()
