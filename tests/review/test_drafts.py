"""Storing a drafting run: a new revision, or the current one when the text is unchanged."""

from __future__ import annotations

from pathlib import Path

from pipeline.models.article import Bullet
from pipeline.review.drafts import store_run
from pipeline.store.db import Store
from tests.support.review_factories import make_article, staffed


def test_a_rerun_with_the_same_text_is_unchanged_and_a_new_text_is_stored(
    tmp_path: Path,
) -> None:
    flow = staffed(Store(f"sqlite:///{tmp_path / 'press.sqlite'}"))
    first = store_run(flow, "ann", *make_article())
    assert not first.unchanged and first.revision.number == 1
    assert first.article.slug == first.revision.article().slug
    again = store_run(flow, "ann", *make_article())
    assert again.unchanged and again.revision.id == first.revision.id
    article, evidence = make_article()
    article.draft.sections[0].bullets[0] = Bullet(text="A different claim.", citations=[1])
    changed = store_run(flow, "ann", article, evidence)
    assert not changed.unchanged and changed.revision.number == 2
    assert changed.article.state.revision_id == changed.revision.id
