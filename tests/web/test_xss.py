"""XSS payloads in the question, in corpus text and in model output never reach a page raw."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pipeline.cite import check as cite
from pipeline.cite.claims import bullet_checks
from pipeline.errors import DraftError
from pipeline.models.article import Article, Bullet, Draft, DraftSection, Provenance
from pipeline.models.corpus import Author, Citation, Passage, Section
from pipeline.models.evidence import Evidence, EvidenceSet, ScoredPassage
from pipeline.review.workflow import Workflow
from tests.web.conftest import csrf_of, post_action

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
JS_URL = "javascript:alert(1)"
PAYLOAD = f"{SCRIPT} {IMG}"


def assert_clean(html: str) -> None:
    """No payload survives as markup: no script, no image tag, no javascript: link."""
    assert "<script>alert" not in html
    assert "<img" not in html.lower()
    assert "onerror=alert(1)>" not in html
    assert not re.search(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", html, re.I)


def hostile_article() -> tuple[Article, EvidenceSet]:
    """An article whose question, corpus sources and model output all carry payloads."""
    question = f"Does drug X help? {PAYLOAD}"
    items = []
    for number in (1, 2):
        cid = f"pmid:{number}"
        text = f"Drug X helped in trial {number}. {PAYLOAD} {JS_URL}"
        citation = Citation(
            id=cid,
            title=f"Study {number} {PAYLOAD}",
            authors=[Author(family=f"Evil{IMG}", given="Eve")],
            journal=f"J {SCRIPT}",
            year=2020 + number,
            url=JS_URL,
            doi=f'10.1/"><script>alert({number})</script>',
            sections=[Section(heading=f"Results {SCRIPT}", text=text)],
        )
        passage = Passage(citation_id=cid, text=text, section=f"Results {SCRIPT}")
        items.append(
            Evidence(
                number=number,
                citation=citation,
                passages=[ScoredPassage(passage=passage, citation=citation, score=1.0)],
            )
        )
    evidence = EvidenceSet(question=question, items=items, corpus_version="cv")
    draft = Draft(
        headline=f"Yes {PAYLOAD}",
        summary=f"Summary {SCRIPT}",
        sections=[
            DraftSection(
                heading=f"Evidence {IMG}",
                lead=f"Lead {SCRIPT}",
                bullets=[
                    Bullet(text=f"Bullet one {PAYLOAD}", citations=[1]),
                    Bullet(text=f"Bullet two [{JS_URL}]({JS_URL})", citations=[2]),
                    Bullet(text=f"Uncited {IMG}", citations=[]),
                ],
            )
        ],
        bottom_line=f"Bottom {PAYLOAD}",
        related_questions=[f"Related {SCRIPT}"],
    )
    check = cite.check_citations(draft, evidence)
    article = Article(
        slug="does-drug-x-help-script-alert-1-script-img-src-x",
        question=question,
        draft=check.draft,
        references=check.references,
        checks=bullet_checks(check, 0.35),
        last_updated="2026-01-05",
        provenance=Provenance(drafter="llm", model=f"model {SCRIPT}", corpus_version="cv"),
    )
    return article, evidence


@pytest.fixture
def hostile(flow: Workflow) -> str:
    """The hostile article stored as ann's draft, with a hostile review comment and an r2."""
    article, evidence = hostile_article()
    slug = flow.store_draft("ann", article, evidence).article().slug
    flow.submit("ann", slug, comment=f"please {PAYLOAD}")
    flow.request_changes("rex", slug, comment=f"fix {IMG} {SCRIPT}")
    edited = article.model_copy(deep=True, update={"slug": slug})
    edited.draft.summary = f"Edited {PAYLOAD}"
    flow.revise("ann", slug, edited, evidence, based_on=1)
    return slug


def test_no_page_shows_a_payload_raw(
    sign_in: Callable[..., TestClient], hostile: str, app: FastAPI
) -> None:
    ann = sign_in("ann")
    pages = {
        "article": ann.get(f"/articles/{hostile}"),
        "queue": ann.get("/queue", params={"q": SCRIPT}),
        "queue-all": ann.get("/queue"),
        "edit": ann.get(f"/articles/{hostile}/edit"),
        "diff": ann.get(f"/articles/{hostile}/diff", params={"old": "r1", "new": "r2"}),
        "follow-up": ann.get(f"/articles/{hostile}/follow-up", params={"question": PAYLOAD}),
        "login-next": ann.get("/login", params={"next": f"/queue{IMG}"}),
    }
    for name, response in pages.items():
        # an unpublished article takes no follow-up: refused with the reason, still clean
        assert response.status_code == (409 if name == "follow-up" else 200), name
        assert_clean(response.text)
    article = pages["article"].text
    # The payloads did reach the page — as text.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in article
    assert (
        "Bullet one" in article and "Study 1" in article and "Drug X helped in trial 1" in article
    )
    assert "fix &#34;&gt;&lt;img" in article  # the reviewer's comment
    assert "Uncited" in article[article.index('id="flags"') :]  # flagged, escaped
    panel = article[article.index('id="evidence-panel"') : article.index('id="flags"')]
    assert "Drug X helped in trial 1. &lt;script&gt;alert(1)&lt;/script&gt;" in panel
    assert "Study 1 &lt;script&gt;" in panel and "Evil&#34;&gt;&lt;img" in panel
    assert 'href="https://doi.org/10.1/%22%3E%3Cscript%3Ealert(1)%3C/script%3E"' in panel
    assert "Source</a>" not in panel  # the source URL was neither http(s) nor well formed


def test_payload_in_a_new_question_and_in_a_job_error(
    sign_in: Callable[..., TestClient], app: FastAPI
) -> None:
    def fail(_job: object) -> str:
        raise DraftError(f"model said {PAYLOAD}", f"hint {SCRIPT}")

    job = app.state.desk.jobs.submit("ann", f"Question {PAYLOAD}", "clinician", fail)
    ann = sign_in("ann")
    for _ in range(200):
        if ann.get(f"/jobs/{job.id}.json").json()["state"] != "running":
            break
    page = ann.get(f"/jobs/{job.id}").text
    assert "Question" in page and "model said" in page
    assert_clean(page)


def test_payloads_in_errors_and_comments_posted_through_the_desk(
    sign_in: Callable[..., TestClient], seeded: str, flow: Workflow
) -> None:
    ann = sign_in("ann")
    missing = ann.get(f"/articles/{SCRIPT}")
    assert missing.status_code == 404
    assert_clean(missing.text)
    unknown = post_action(ann, seeded, "withdraw", comment=PAYLOAD)
    assert unknown.status_code == 303
    page = ann.get(f"/articles/{seeded}").text
    assert_clean(page)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    failed_login = TestClient(ann.app, follow_redirects=False)
    token = csrf_of(failed_login, "/login")
    response = failed_login.post(
        "/login", data={"username": PAYLOAD[:100], "password": "x", "csrf_token": token}
    )
    assert response.status_code == 401
    assert_clean(response.text)
