"""A drafting run whose reply missed the house format is stored as "failed — needs redraft".

From ``failed`` only a new revision (a redraft or an edit) or withdraw leads on; it is never
submitted, approved or published, the log replays to it, and a published revision of the
same article stays live underneath it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import InvalidTransition
from pipeline.models.article import Article
from pipeline.models.evidence import EvidenceSet
from pipeline.review.machine import Action, ReviewStatus, replay
from pipeline.review.workflow import Workflow
from pipeline.store.db import Store
from tests.support.review_factories import make_article, staffed

S = ReviewStatus
VIOLATIONS = ["there are no sections: give 1–5 sections of bullets, each citing evidence"]


@pytest.fixture
def flow(tmp_path: Path) -> Workflow:
    return staffed(Store(f"sqlite:///{tmp_path / 'press.sqlite'}"))


def failed_article() -> tuple[Article, EvidenceSet]:
    article, evidence = make_article()
    return article.model_copy(update={"failure": VIOLATIONS}), evidence


def test_a_failed_run_is_stored_as_failed_and_goes_nowhere_but_redraft_or_withdraw(
    flow: Workflow,
) -> None:
    article, evidence = failed_article()
    revision = flow.store_draft("ann", article, evidence)
    slug = revision.article().slug
    record = flow.store.article(slug)
    assert record.state.status == S.FAILED and revision.article().status == "failed"
    assert Action.SUBMIT not in flow.allowed_actions("ann", slug)
    assert Action.DRAFT_FAILED not in flow.allowed_actions("ann", slug)
    with pytest.raises(InvalidTransition, match="failed"):
        flow.submit("ann", slug)
    log = flow.store.log(flow.store.article(slug))
    assert log[-1].action == Action.DRAFT_FAILED.value and "no sections" in (log[-1].comment or "")
    assert replay(log) == flow.store.article(slug).state
    # A redraft that meets the format is a normal draft again ...
    good, evidence = make_article(bullet="A cited claim from the redraft.")
    flow.store_draft("ann", good, evidence)
    assert flow.store.article(slug).state.status == S.DRAFT
    # ... and a failed one can be withdrawn.
    again, evidence = failed_article()
    flow.store_draft("ann", again, evidence)
    assert flow.store.article(slug).state.status == S.FAILED
    flow.withdraw("ann", slug)
    assert flow.store.article(slug).state.status == S.WITHDRAWN


def test_the_same_text_failing_is_not_taken_for_the_stored_draft(flow: Workflow) -> None:
    article, evidence = make_article()
    slug = flow.store_draft("ann", article, evidence).article().slug
    failed = article.model_copy(update={"failure": VIOLATIONS})
    flow.store_draft("ann", failed, evidence)
    assert flow.store.article(slug).state.status == S.FAILED
