"""The article routes' usability and integrity, over HTTP: confirmations, workflow state beside
the article (never in it), acknowledging flags."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from pipeline.article.render import EXTRACTIVE_NOTICE
from pipeline.models.article import BulletCheck
from pipeline.review.workflow import Workflow
from tests.support.review_factories import make_article
from tests.web.conftest import csrf_of, post_action

SignIn = Callable[..., TestClient]


def _to_approved(flow: Workflow, slug: str) -> None:
    flow.submit("ann", slug)
    flow.start_review("rex", slug)
    flow.approve("rex", slug)


def test_publish_withdraw_and_retract_need_a_ticked_confirmation(
    sign_in: SignIn, flow: Workflow, seeded: str
) -> None:
    _to_approved(flow, seeded)
    pam = sign_in("pam")
    page = pam.get(f"/articles/{seeded}").text
    assert 'data-testid="confirm-publish"' in page and 'data-testid="confirm-withdraw"' in page
    refused = post_action(pam, seeded, "publish", confirm="")
    assert refused.status_code == 400 and "was not confirmed" in refused.text
    assert post_action(pam, seeded, "withdraw", confirm="").status_code == 400
    assert flow.store.article(seeded).state.status == "approved"
    flow.publish("pam", seeded)  # (the desk would rebuild the site, which needs the index)
    assert post_action(pam, seeded, "retract", comment="wrong dose", confirm="").status_code == 400
    assert flow.store.article(seeded).state.published_revision_id is not None


def test_workflow_state_is_shown_beside_the_article_not_in_it(
    sign_in: SignIn, flow: Workflow
) -> None:
    article, evidence = make_article()
    article.provenance.placeholders = {"bottom_line": article.draft.bottom_line}
    slug = flow.store_draft("ann", article, evidence).article().slug
    page = sign_in("rex").get(f"/articles/{slug}").text
    body = page[page.index('id="article-body"') : page.index('id="evidence-panel"')]
    assert EXTRACTIVE_NOTICE not in body
    state = page[page.index('id="workflow-state"') : page.index('id="article-body"')]
    assert "Drafted without a language model" in state
    assert "verdict needs editorial judgment" in state and "Bottom Line" in state


def test_a_reviewer_acknowledges_a_flagged_sentence_on_the_desk(
    sign_in: SignIn, flow: Workflow
) -> None:
    article, evidence = make_article()
    article.checks = [BulletCheck(section=0, bullet=1, flagged=True, reason="no citation")]
    slug = flow.store_draft("ann", article, evidence).article().slug
    flow.submit("ann", slug)
    flow.start_review("rex", slug)
    rex = sign_in("rex")
    assert post_action(rex, slug, "approve").status_code == 409  # the gate holds
    page = rex.get(f"/articles/{slug}").text
    assert 'data-testid="acknowledge-0"' in page
    version = flow.store.article(slug).version
    token = csrf_of(rex, f"/articles/{slug}")
    empty = {"csrf_token": token, "check": "0", "version": str(version), "reason": " "}
    assert rex.post(f"/articles/{slug}/acknowledge", data=empty).status_code == 400
    done = rex.post(
        f"/articles/{slug}/acknowledge",
        data={**empty, "reason": "the relapse figure is in source 2's table"},
    )
    assert done.status_code == 303
    assert "source 2&#39;s table (by rex)" in rex.get(f"/articles/{slug}").text
    assert post_action(rex, slug, "approve").status_code == 303
