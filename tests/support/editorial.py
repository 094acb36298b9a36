"""Helpers of the editorial-integrity tests (tests/review/test_gate.py and
test_workflow_edit_rights.py).

Store a draft, put it under review, and edit a field of the current revision the way the
desk does (``edited_article`` then ``Workflow.revise``).
"""

from __future__ import annotations

from pipeline.models.article import Article
from pipeline.review.editing import edited_article
from pipeline.review.workflow import Workflow
from tests.support.review_factories import make_article


def edit(flow: Workflow, user: str, slug: str, **fields: str) -> int:
    current = flow.current_revision(slug)
    draft = current.article().draft.model_copy(update=fields)
    article, evidence = edited_article(
        current.article(), draft, current.evidence(), support_threshold=0.0
    )
    return flow.revise(user, slug, article, evidence, based_on=current.number).number


def stored(flow: Workflow, article: Article, user: str = "ann") -> str:
    evidence = make_article()[1]
    return flow.store_draft(user, article, evidence).article().slug


def in_review(flow: Workflow, slug: str) -> None:
    flow.submit("ann", slug)
    flow.start_review("rex", slug)
