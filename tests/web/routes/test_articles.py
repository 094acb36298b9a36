"""The queue, the article page and its evidence panel, the workflow actions and refusals."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from pipeline.errors import ConcurrentUpdateError
from pipeline.models.article import BulletCheck
from pipeline.review.gate import open_items
from pipeline.review.workflow import Workflow
from pipeline.web.evidence import evidence_panel, link_citations
from tests.support.review_factories import make_article
from tests.web.conftest import csrf_of, post_action

SignIn = Callable[..., TestClient]


def test_queue_lists_counts_filters_and_sorts(sign_in: SignIn, flow: Workflow, seeded: str) -> None:
    other, evidence = make_article("Is drug Z safe in pregnancy?", audience="patient")
    flow.store_draft("ann", other, evidence)
    flow.submit("ann", seeded)
    rex = sign_in("rex")
    page = rex.get("/queue").text
    assert 'data-testid="count-submitted"' in page
    counts = dict(re.findall(r'data-testid="count-(\w+)">.*?</span> (\d+)</a>', page))
    assert counts["submitted"] == "1" and counts["draft"] == "1" and counts["approved"] == "0"
    assert re.search(r'id="waiting-list">\s*<li><a href="/articles/' + seeded, page)
    only_drafts = rex.get("/queue", params={"status": "draft"}).text
    assert "Is drug Z safe" in only_drafts and "Does drug X" not in only_drafts
    patients = rex.get("/queue", params={"audience": "patient"}).text
    assert "Is drug Z safe" in patients and "Does drug X" not in patients
    text = rex.get("/queue", params={"q": "DRUG x"}).text
    assert "Does drug X" in text and "Is drug Z safe" not in text
    by_question = rex.get("/queue", params={"sort": "question"}).text
    assert by_question.index("Does drug X") < by_question.index("Is drug Z")
    by_status = rex.get("/queue", params={"sort": "status"}).text
    assert by_status.index("Is drug Z") < by_status.index("Does drug X")  # draft < submitted


def test_article_page_shows_body_badge_and_evidence(sign_in: SignIn, seeded: str) -> None:
    page = sign_in("rex").get(f"/articles/{seeded}").text
    assert 'data-testid="status-badge" id="status-badge">draft<' in page
    assert '<a href="#evidence-1" aria-label="Evidence 1: Study 1 of drug X" class="cite"' in page
    panel = page[page.index('id="evidence-panel"') :]
    section = panel[panel.index('id="evidence-1"') : panel.index('id="evidence-2"')]
    assert "Drug X improved condition Y in a randomized trial of 60 adults." in section
    assert "Narrative review / other" in section and "Study 1 of drug X" in section
    assert "A cohort study" not in section


def test_evidence_panel_marks_cited_passages_and_flags() -> None:
    article, evidence = make_article()
    pid = evidence.items[0].passages[0].passage.id
    article.checks = [
        article.checks[0] if article.checks else _check(0, 0, [1], [pid], False, ""),
        _check(0, 1, [], [], True, "no citation"),
    ]
    sources = evidence_panel(article, evidence)
    assert [s.number for s in sources] == [1, 2]
    assert sources[0].passages[0].cited and not sources[1].passages[0].cited
    assert sources[0].bullets == ("Drug X improved condition Y in a randomized trial.",)
    flags = [item for item in open_items(article, set()) if item.kind == "check"]
    assert [(f.text, f.reason) for f in flags] == [
        ("Relapses were fewer with drug X.", "no citation")
    ]
    assert (
        link_citations('<a href="#ref-12" class="cite">')
        == '<a href="#evidence-12" aria-label="Evidence 12" class="cite">'
    )
    titled = link_citations('<a href="#ref-3" class="cite">', {3: 'A "trial" <b>'})
    assert titled == (
        '<a href="#evidence-3" aria-label="Evidence 3: A &quot;trial&quot; &lt;b&gt;" class="cite">'
    )


def _check(
    s: int, b: int, numbers: list[int], pids: list[str], flagged: bool, reason: str
) -> BulletCheck:
    return BulletCheck(
        section=s,
        bullet=b,
        numbers=numbers,
        passage_ids=pids,
        flagged=flagged,
        reason=reason,
        support=0.1 if flagged else 0.9,
    )


def test_flagged_bullets_are_highlighted(sign_in: SignIn, flow: Workflow) -> None:
    article, evidence = make_article()
    article.checks = [_check(0, 1, [2], [], True, "support 0.10 below 0.35")]
    slug = flow.store_draft("ann", article, evidence).article().slug
    page = sign_in("rex").get(f"/articles/{slug}").text
    flags = page[page.index('id="flags"') :]
    assert '<li class="flagged"' in flags and "support 0.10 below 0.35" in flags
    assert re.search(r'<li class="flagged">Relapses were fewer', page)  # in the article body too


def test_offered_actions_follow_roles_and_status(
    sign_in: SignIn, flow: Workflow, seeded: str
) -> None:
    def offered(name: str) -> set[str]:
        page = sign_in(name).get(f"/articles/{seeded}").text
        return set(re.findall(r'data-testid="action-([a-z-]+)"', page))

    assert offered("ann") == {"submit", "withdraw"}
    assert offered("rex") == set()
    assert offered("pam") == {"withdraw"}
    flow.submit("ann", seeded)
    assert offered("rex") == {"review", "request-changes"}
    assert offered("ann") == {"withdraw"}


def test_full_review_through_the_desk(sign_in: SignIn, seeded: str, flow: Workflow) -> None:
    ann, rex, pam = sign_in("ann"), sign_in("rex"), sign_in("pam")
    assert post_action(ann, seeded, "submit").status_code == 303
    assert "Done: submit" in ann.get(f"/articles/{seeded}").text  # the flash message
    assert post_action(rex, seeded, "review").status_code == 303
    sent_back = post_action(rex, seeded, "request-changes", comment="Cite the RCT's size.")
    assert sent_back.status_code == 303
    page = ann.get(f"/articles/{seeded}").text
    comments = page[page.index('id="comments"') : page.index('id="history"')]
    assert "Cite the RCT&#39;s size." in comments and "rex" in comments
    assert post_action(ann, seeded, "submit").status_code == 303
    assert post_action(rex, seeded, "review").status_code == 303
    assert post_action(rex, seeded, "approve", comment="Fine.").status_code == 303
    assert flow.store.article(seeded).state.status == "approved"
    assert [row.action for row in flow.store.log(flow.store.article(seeded))][
        -1
    ] == "review.approve"
    assert set(
        re.findall(r'data-testid="action-([a-z-]+)"', pam.get(f"/articles/{seeded}").text)
    ) == {
        "publish",
        "withdraw",
    }


def test_wrong_role_is_refused(sign_in: SignIn, seeded: str, flow: Workflow) -> None:
    response = post_action(sign_in("rex"), seeded, "submit")
    assert response.status_code == 403
    assert "rex cannot submit" in response.text
    assert flow.store.article(seeded).state.status == "draft"


def test_author_cannot_approve_own_revision(sign_in: SignIn, flow: Workflow) -> None:
    article, evidence = make_article()
    slug = flow.store_draft("rita", article, evidence).article().slug
    flow.submit("rita", slug)
    flow.start_review("rex", slug)
    response = post_action(sign_in("rita"), slug, "approve")
    assert response.status_code == 403 and "cannot approve" in response.text


def test_status_refusal_is_a_conflict(sign_in: SignIn, seeded: str) -> None:
    response = post_action(sign_in("pam"), seeded, "publish")
    assert response.status_code == 409 and "its status is draft" in response.text


def test_request_changes_needs_a_comment(sign_in: SignIn, seeded: str, flow: Workflow) -> None:
    flow.submit("ann", seeded)
    response = post_action(sign_in("rex"), seeded, "request-changes", comment="   ")
    assert response.status_code == 400 and "without a comment" in response.text
    assert flow.store.article(seeded).state.status == "submitted"


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_actions_need_the_sessions_csrf_token(
    sign_in: SignIn, seeded: str, flow: Workflow, token: str | None
) -> None:
    ann = sign_in("ann")
    data = {"version": "1", "revision": "1"}
    if token is not None:
        data["csrf_token"] = token
    response = ann.post(f"/articles/{seeded}/actions/submit", data=data)
    assert response.status_code == 403
    assert flow.store.article(seeded).state.status == "draft"


def test_another_sessions_token_is_refused(sign_in: SignIn, seeded: str) -> None:
    ann, rex = sign_in("ann"), sign_in("rex")
    response = post_action(ann, seeded, "submit", csrf_token=csrf_of(rex))
    assert response.status_code == 403


def test_stale_page_is_a_conflict_not_a_500(sign_in: SignIn, seeded: str, flow: Workflow) -> None:
    ann = sign_in("ann")
    page = ann.get(f"/articles/{seeded}").text
    version = re.search(r'name="version" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    flow.withdraw("pam", seeded)  # someone acts while ann reads
    response = ann.post(
        f"/articles/{seeded}/actions/submit",
        data={"csrf_token": csrf_of(ann), "version": version, "revision": "1"},
    )
    assert response.status_code == 409
    assert "changed since you opened it" in response.text


def test_store_lock_conflict_is_a_409(
    sign_in: SignIn, seeded: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def race(*_args: object, **_kwargs: object) -> None:
        raise ConcurrentUpdateError(
            "'x' was changed by someone else while this action ran", "Retry."
        )

    monkeypatch.setattr(Workflow, "submit", race)
    response = post_action(sign_in("ann"), seeded, "submit")
    assert response.status_code == 409 and "changed by someone else" in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/articles/no-such-article",
        "/articles/no-such-article/diff",
        "/articles/..%2F..%2Fetc%2Fpasswd",
        "/articles/%2e%2e",
        "/articles/UPPER",
        "/articles/a.b",
        "/articles/..%5cwindows",
    ],
)
def test_unknown_or_malformed_slugs_are_404(sign_in: SignIn, path: str) -> None:
    assert sign_in("rex").get(path).status_code == 404


def test_unknown_action_and_unknown_slug_post_are_404(sign_in: SignIn, seeded: str) -> None:
    ann = sign_in("ann")
    assert post_action(ann, seeded, "delete-everything").status_code == 404
    token = csrf_of(ann)
    response = ann.post(
        "/articles/nope/actions/submit", data={"csrf_token": token, "version": 1, "revision": 1}
    )
    assert response.status_code == 404


def test_history_and_diff_between_revisions(sign_in: SignIn, seeded: str, flow: Workflow) -> None:
    article, evidence = make_article(bullet="Drug X clearly helped in one randomized trial.")
    current = flow.current_revision(seeded)
    flow.revise(
        "ann",
        seeded,
        article.model_copy(update={"slug": seeded}),
        evidence,
        based_on=current.number,
    )
    rex = sign_in("rex")
    page = rex.get(f"/articles/{seeded}").text
    history = page[page.index('id="history"') :]
    assert history.count('<tr><td data-label="When">') == 2
    assert "What changed from r1 to r2" in history
    assert '<span class="diff-add">+- Drug X clearly helped in one randomized trial.' in history
    assert '<span class="diff-del">-- Drug X improved condition Y' in history
    diff = rex.get(f"/articles/{seeded}/diff", params={"old": "r2", "new": "r1"})
    assert diff.status_code == 200 and '<span class="diff-del">-- Drug X clearly' in diff.text
    assert rex.get(f"/articles/{seeded}/diff", params={"old": "x", "new": "r1"}).status_code == 400


def test_edit_page_is_for_authors_only(sign_in: SignIn, seeded: str) -> None:
    assert sign_in("rex").get(f"/articles/{seeded}/edit").status_code == 403
    page = sign_in("ann").get(f"/articles/{seeded}/edit")
    assert page.status_code == 200 and '<label for="markdown">' in page.text
    assert "- Drug X improved condition Y in a randomized trial. [1]" in page.text
