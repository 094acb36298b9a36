"""Edit rights follow the article, and the publish gate holds unfinished revisions back.

Each test reproduces a problem found when the desk was probed as an attacker and an
editorial lead would: another author rewriting an article under review; a draft with the
extractive drafter's placeholder verdict approved and published unchanged; low-support
bullets published with no decision recorded.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import InvalidTransition, PermissionDenied
from pipeline.models.article import Article, BulletCheck
from pipeline.review.editing import edited_article
from pipeline.review.machine import Action, ReviewStatus, Role, replay
from pipeline.review.workflow import Workflow
from pipeline.store.db import Store
from tests.support.review_factories import make_article, staffed

S = ReviewStatus
PLACEHOLDER_HEADLINE = "Drug X: Evidence Summary — Verdict Requires Editorial Judgment"
PLACEHOLDER_BOTTOM = "Before publication a reviewer must decide the answer from the evidence."


@pytest.fixture
def flow(tmp_path: Path) -> Workflow:
    workflow = staffed(Store(f"sqlite:///{tmp_path / 'press.sqlite'}"))
    workflow.add_user("bea", [Role.AUTHOR], by="ada")
    workflow.add_user("ed", [Role.EDITOR], by="ada")
    return workflow


def _edit(flow: Workflow, user: str, slug: str, **fields: str) -> int:
    current = flow.current_revision(slug)
    draft = current.article().draft.model_copy(update=fields)
    article, evidence = edited_article(
        current.article(), draft, current.evidence(), support_threshold=0.0
    )
    return flow.revise(user, slug, article, evidence, based_on=current.number).number


def _stored(flow: Workflow, article: Article, user: str = "ann") -> str:
    evidence = make_article()[1]
    return flow.store_draft(user, article, evidence).article().slug


def _review(flow: Workflow, slug: str) -> None:
    flow.submit("ann", slug)
    flow.start_review("rex", slug)


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


# the publish gate ----------------------------------------------------------------------------


def _placeholder_article() -> Article:
    article, _ = make_article()
    draft = article.draft.model_copy(
        update={"headline": PLACEHOLDER_HEADLINE, "bottom_line": PLACEHOLDER_BOTTOM}
    )
    provenance = article.provenance.model_copy(
        update={
            "placeholders": {"headline": PLACEHOLDER_HEADLINE, "bottom_line": PLACEHOLDER_BOTTOM}
        }
    )
    return article.model_copy(update={"draft": draft, "provenance": provenance})


def test_a_placeholder_verdict_cannot_be_approved_or_published(flow: Workflow) -> None:
    slug = _stored(flow, _placeholder_article())
    _review(flow, slug)
    with pytest.raises(InvalidTransition) as refused:
        flow.approve("rex", slug)
    assert "placeholder" in refused.value.message
    assert "verdict headline" in refused.value.message and "Bottom Line" in refused.value.message
    assert "write the verdict" in refused.value.hint
    assert flow.store.article(slug).state.status == S.UNDER_REVIEW
    # Writing the verdict (an edit: a new revision) settles it.
    flow.request_changes("rex", slug, comment="write the verdict")
    _edit(flow, "ann", slug, headline="Probably yes, for adults.")
    _review(flow, slug)
    with pytest.raises(InvalidTransition, match="Bottom Line"):
        flow.approve("rex", slug)
    flow.request_changes("rex", slug, comment="and the bottom line")
    _edit(flow, "ann", slug, bottom_line="Consider drug X in adults with condition Y.")
    _review(flow, slug)
    flow.approve("rex", slug)
    flow.publish("pam", slug)


def _flagged_article() -> Article:
    article, _ = make_article()
    checks = [
        BulletCheck(section=0, bullet=0, numbers=[1], support=0.1, flagged=True, reason="low"),
        BulletCheck(section=0, bullet=1, numbers=[2], support=0.9),
    ]
    return article.model_copy(update={"checks": checks})


def test_flagged_checks_need_a_recorded_decision_before_approval(flow: Workflow) -> None:
    slug = _stored(flow, _flagged_article())
    _review(flow, slug)
    with pytest.raises(InvalidTransition, match=r"1 flagged check\(s\) are unresolved") as refused:
        flow.approve("rex", slug)
    # The refusal names the number `press acknowledge --check N` takes.
    assert "check 0: Evidence, bullet 1 (low)" in refused.value.message
    # Only an open flag can be acknowledged, only with a reason, and never by its writer.
    with pytest.raises(InvalidTransition, match="not an open flagged check"):
        flow.acknowledge("rex", slug, check=1, comment="fine")
    with pytest.raises(Exception, match="without a comment"):
        flow.acknowledge("rex", slug, check=0, comment="")
    flow.add_user("ann", [Role.REVIEWER], by="ada")
    with pytest.raises(PermissionDenied, match="nobody reviews their own work"):
        flow.acknowledge("ann", slug, check=0, comment="mine is fine")
    flow.acknowledge("rex", slug, check=0, comment="the trial is cited in the passage's table")
    acknowledged = flow.store.acknowledgements(flow.current_revision(slug).id)
    assert acknowledged[0].actor == "rex" and "table" in (acknowledged[0].comment or "")
    flow.approve("rex", slug)
    flow.publish("pam", slug)
    log = flow.store.log(flow.store.article(slug))
    assert Action.ACKNOWLEDGE.value in [e.action for e in log]
    assert replay(log) == flow.store.article(slug).state


def test_a_flag_edited_away_needs_no_acknowledgement(flow: Workflow) -> None:
    slug = _stored(flow, _flagged_article())
    _edit(flow, "ann", slug, summary="Drug X helps condition Y in adults.")
    # the edit re-ran the check (threshold 0 here: nothing is flagged any more)
    assert not any(c.flagged for c in flow.current_revision(slug).article().checks)
    _review(flow, slug)
    flow.approve("rex", slug)


def test_the_gate_is_generic_over_every_flagged_check(flow: Workflow) -> None:
    """Any check with ``flagged=True`` holds publication, whatever it is about."""
    article = _flagged_article()
    extra = BulletCheck(section=9, bullet=9, flagged=True, reason="claim not in any source")
    slug = _stored(flow, article.model_copy(update={"checks": [*article.checks, extra]}))
    _review(flow, slug)
    flow.acknowledge("rex", slug, check=0, comment="checked against the passage")
    with pytest.raises(InvalidTransition, match="claim not in any source"):
        flow.approve("rex", slug)
    flow.acknowledge("rita", slug, check=2, comment="the claim is the guideline's wording")
    flow.approve("rex", slug)


# what readers see ----------------------------------------------------------------------------


def test_the_public_page_carries_no_drafting_banner_and_names_the_verdict_writer(
    flow: Workflow, tmp_path: Path
) -> None:
    from pipeline.article.render import EXTRACTIVE_NOTICE
    from pipeline.publish.site import build_site
    from pipeline.store.publications import site_entries
    slug = _stored(flow, _placeholder_article())
    # an editor writes the verdict; the article stays ann's
    _edit(
        flow,
        "ed",
        slug,
        headline="Probably yes, for adults with condition Y.",
        bottom_line="Consider drug X in adults with condition Y.",
    )
    _review(flow, slug)
    flow.approve("rex", slug)
    flow.publish("pam", slug)
    entries, problems = site_entries(flow.store)
    assert problems == [] and entries[0].verdict_by == "ed"
    build_site(entries, tmp_path / "site")
    page = (tmp_path / "site" / "articles" / f"{slug}.html").read_text("utf-8")
    assert "Verdict written by ed" in page and "Reviewed by rex" in page
    assert EXTRACTIVE_NOTICE not in page
    assert "verdict needs editorial judgment" not in page.lower()


def test_a_flagged_sentence_of_another_field_is_named_by_its_field(flow: Workflow) -> None:
    article = _flagged_article()
    claim = BulletCheck(
        field="summary", text="Drug X helps condition Y.", flagged=True, reason="unsupported"
    )
    slug = _stored(flow, article.model_copy(update={"checks": [claim]}))
    _review(flow, slug)
    with pytest.raises(InvalidTransition, match=r"(?i)summary \(unsupported\)"):
        flow.approve("rex", slug)
