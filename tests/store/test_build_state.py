"""The build key a revision was confirmed under: one row per article, replaced on confirm."""

from __future__ import annotations

from pathlib import Path

from pipeline.store.build_state import confirm_key, confirmed_key
from pipeline.store.db import Store
from tests.support.review_factories import make_article, staffed


def test_a_confirmed_key_is_read_back_for_that_revision_only(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'press.sqlite'}")
    revision = staffed(store).store_draft("ann", *make_article())
    assert confirmed_key(store, revision.article_id, revision.id) is None
    confirm_key(store, revision.article_id, revision.id, "aaaa")
    assert confirmed_key(store, revision.article_id, revision.id) == "aaaa"
    assert confirmed_key(store, revision.article_id, revision.id + 1) is None
    confirm_key(store, revision.article_id, revision.id, "bbbb")  # replaces, not a second row
    assert confirmed_key(store, revision.article_id, revision.id) == "bbbb"
