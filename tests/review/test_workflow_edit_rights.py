"""Edit rights follow the article (pipeline.review.workflow): nobody rewrites another's article.

Each test reproduces a problem found when the desk was probed as an attacker would: another
author rewriting an article under review or taking it over.
"""

from __future__ import annotations

import pytest

from pipeline.errors import InvalidTransition, PermissionDenied
from pipeline.review.machine import Action, replay
from pipeline.review.machine import ReviewStatus as S
from pipeline.review.workflow import Workflow
from tests.support.editorial import edit as _edit
from tests.support.editorial import in_review as _review
from tests.support.editorial import stored as _stored
from tests.support.review_factories import make_article

# edit rights ---------------------------------------------------------------------------------


def test_another_author_cannot_rewrite_an_article_or_take_it_over(flow: Workflow) -> None:
    slug = _stored(flow, make_article()[0])
    _review(flow, slug)
    log_before = len(flow.store.log())
    # B cannot store a revision of A's article: not while it is reviewed …
    with pytest.raises((PermissionDenied, InvalidTransition)):
        _edit(flow, "bea", slug, bottom_line="Bea's takeover.")
    # … and not after it is back with its author either.
    flow.request_changes("rex", slug, comment="tighten the bottom line")
    with pytest.raises(PermissionDenied, match=r"only the article's author \(ann\) or an editor"):
        _edit(flow, "bea", slug, bottom_line="Bea's takeover.")
    # Drafting the same question again is a revision of the same article: refused too.
    with pytest.raises(PermissionDenied):
        flow.store_draft("bea", *make_article(bullet="Bea's own bullet."))
    assert len(flow.store.log()) == log_before + 1  # only the request for changes
    assert flow.store.article_author(flow.store.article(slug)) == "ann"


def test_nobody_edits_a_revision_under_review_without_taking_it_back(flow: Workflow) -> None:
    slug = _stored(flow, make_article()[0])
    _review(flow, slug)
    for user in ("ann", "ed", "ada"):
        with pytest.raises(InvalidTransition, match="withdraw it or have changes requested"):
            _edit(flow, user, slug, bottom_line=f"{user} edits under review.")
    assert flow.store.article(slug).state.status == S.UNDER_REVIEW
    # The author takes it back (withdraw), then edits: the log says who did each.
    flow.withdraw("ann", slug, comment="taking it back")
    assert _edit(flow, "ann", slug, bottom_line="Consider drug X for adults.") == 2
    log = flow.store.log(flow.store.article(slug))
    assert [(e.action, e.actor) for e in log[-2:]] == [
        (Action.WITHDRAW.value, "ann"),
        (Action.DRAFT.value, "ann"),
    ]


def test_an_editor_may_edit_any_draft_and_the_article_keeps_its_author(flow: Workflow) -> None:
    slug = _stored(flow, make_article()[0])
    assert _edit(flow, "ed", slug, bottom_line="Editor's Bottom Line for drug X.") == 2
    article = flow.store.article(slug)
    revision = flow.current_revision(slug)
    assert revision.author == "ed"  # the revision records its own author
    assert flow.store.article_author(article) == "ann"  # the article keeps its author
    # ann can still withdraw her article although ed wrote its current revision
    assert Action.WITHDRAW in flow.allowed_actions("ann", slug)
    flow.withdraw("ann", slug)
    assert replay(flow.store.log(article)) is not None


def test_published_articles_of_others_are_not_editable(flow: Workflow) -> None:
    slug = _stored(flow, make_article()[0])
    _review(flow, slug)
    flow.approve("rex", slug)
    flow.publish("pam", slug)
    with pytest.raises(PermissionDenied):
        _edit(flow, "bea", slug, bottom_line="Bea rewrites the live article.")
    assert _edit(flow, "ann", slug, bottom_line="Ann updates her live article.") == 2
