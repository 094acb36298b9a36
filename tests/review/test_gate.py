"""The publish gate (pipeline.review.gate) holds unfinished revisions back.

Each test reproduces a problem found when the desk was probed as an editorial lead would: a
draft with the extractive drafter's placeholder verdict approved and published unchanged;
low-support bullets published with no decision recorded.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import InvalidTransition, PermissionDenied
from pipeline.models.article import Article, BulletCheck
from pipeline.review.machine import Action, Role, replay
from pipeline.review.machine import ReviewStatus as S
from pipeline.review.workflow import Workflow
from tests.support.editorial import edit as _edit
from tests.support.editorial import in_review as _review
from tests.support.editorial import stored as _stored
from tests.support.review_factories import make_article

PLACEHOLDER_HEADLINE = "Drug X: Evidence Summary — Verdict Requires Editorial Judgment"


PLACEHOLDER_BOTTOM = "Before publication a reviewer must decide the answer from the evidence."


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
