"""New drafts and follow-ups as background jobs, editing and publishing, on the demo index."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pipeline.index.hybrid import Index
from pipeline.review.workflow import Workflow
from pipeline.settings.load import Settings
from tests.support.demo_index import REFERENCE_QUESTION
from tests.support.review_factories import write_verdict
from tests.web.conftest import csrf_of, post_action

SignIn = Callable[..., TestClient]


@pytest.fixture
def demo_app(make_app: Callable[..., FastAPI], demo: tuple[Settings, Index]) -> FastAPI:
    """A desk app drafting from the shared demo index (read only)."""
    return make_app(index=demo[1])


def wait_for(client: TestClient, job_url: str, timeout_s: float = 120) -> dict[str, object]:
    """Poll the job's JSON until it is no longer running."""
    deadline = time.monotonic() + timeout_s
    while True:
        state: dict[str, object] = client.get(job_url + ".json").json()
        if state["state"] != "running" or time.monotonic() > deadline:
            return state
        time.sleep(0.05)


def start_draft(client: TestClient, question: str, audience: str = "clinician") -> str:
    """POST the new-draft form; returns the job page's URL."""
    response = client.post(
        "/drafts",
        data={"question": question, "audience": audience, "csrf_token": csrf_of(client)},
    )
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def test_new_draft_runs_in_the_background_and_opens_the_draft(
    sign_in: SignIn, demo_app: FastAPI, settings: Settings, flow: Workflow
) -> None:
    ann = sign_in("ann", demo_app)
    form = ann.get("/drafts/new").text
    assert '<label for="question">' in form and '<label for="audience">' in form
    job_url = start_draft(ann, REFERENCE_QUESTION)
    assert job_url.startswith("/jobs/")
    state = wait_for(ann, job_url)
    assert state["state"] == "done", state
    assert state["step"] == state["steps"] == 5
    done = ann.get(job_url)
    assert done.status_code == 303 and done.headers["location"] == f"/articles/{state['slug']}"
    page = ann.get(done.headers["location"]).text
    assert 'id="evidence-1"' in page and re.search(
        r'<a href="#evidence-1" aria-label="Evidence 1: [^"]+" class="cite"', page
    )
    panel = page[page.index('id="evidence-1"') :]
    assert re.search(r'<blockquote class="passage[^"]*"', panel)
    record = flow.store.article(str(state["slug"]))
    assert record.question == REFERENCE_QUESTION and record.state.status == "draft"
    assert flow.current_revision(record.slug).author == "ann"
    assert (settings.outputs / "drafts" / record.slug / "article.html").is_file()


def test_running_job_page_shows_progress(sign_in: SignIn, app: FastAPI) -> None:
    from threading import Event

    release = Event()
    desk = app.state.desk
    job = desk.jobs.submit("ann", "Why?", "clinician", lambda _job: release.wait(30) and "x")
    ann = sign_in("ann")
    try:
        page = ann.get(f"/jobs/{job.id}")
        assert page.status_code == 200
        assert '<meta http-equiv="refresh" content="1">' in page.text
        assert '<progress id="job-progress" max="5" value="1">' in page.text
        assert "Retrieving evidence" in page.text
        assert sign_in("rex").get(f"/jobs/{job.id}").status_code == 404  # not rex's job
        assert ann.get("/jobs/no-such-job").status_code == 404
    finally:
        release.set()


def test_failed_job_shows_the_error_and_hint(sign_in: SignIn, app: FastAPI) -> None:
    from pipeline.errors import RetrievalError
    def fail(_job: object) -> str:
        raise RetrievalError("The index is empty", "Ingest a corpus first.")

    job = app.state.desk.jobs.submit("ann", "Why?", "clinician", fail)
    ann = sign_in("ann")
    state = wait_for(ann, f"/jobs/{job.id}")
    assert state["state"] == "failed" and state["error"] == "The index is empty"
    page = ann.get(f"/jobs/{job.id}").text
    assert 'id="job-error"' in page and "Ingest a corpus first." in page and "refresh" not in page


def test_only_authors_may_draft(sign_in: SignIn) -> None:
    rex = sign_in("rex")
    assert rex.get("/drafts/new").status_code == 403
    response = rex.post(
        "/drafts", data={"question": "Why?", "audience": "clinician", "csrf_token": csrf_of(rex)}
    )
    assert response.status_code == 403
    assert 'id="nav-new-draft"' not in rex.get("/queue").text
    assert 'id="nav-new-draft"' in sign_in("ann").get("/queue").text


def test_new_draft_validates_the_form(sign_in: SignIn) -> None:
    ann = sign_in("ann")
    token = csrf_of(ann)
    bad_audience = ann.post(
        "/drafts", data={"question": "Why now?", "audience": "robots", "csrf_token": token}
    )
    assert bad_audience.status_code == 422
    missing = ann.post("/drafts", data={"audience": "clinician", "csrf_token": token})
    assert missing.status_code == 422


def test_edit_stores_a_new_revision(
    sign_in: SignIn, demo_app: FastAPI, flow: Workflow, seeded: str
) -> None:
    ann = sign_in("ann", demo_app)
    markdown = re.search(
        r'<textarea id="markdown"[^>]*>(.*?)</textarea>',
        ann.get(f"/articles/{seeded}/edit").text,
        re.S,
    ).group(1)  # type: ignore[union-attr]
    import html

    text = html.unescape(markdown).replace("Relapses were fewer", "Relapses were much fewer")
    token = csrf_of(ann)
    saved = ann.post(
        f"/articles/{seeded}/edit", data={"markdown": text, "based_on": "1", "csrf_token": token}
    )
    assert saved.status_code == 303, saved.text
    current = flow.current_revision(seeded)
    assert current.number == 2
    assert (
        current.article().draft.sections[0].bullets[1].text
        == "Relapses were much fewer with drug X."
    )
    stale = ann.post(
        f"/articles/{seeded}/edit", data={"markdown": text, "based_on": "1", "csrf_token": token}
    )
    assert stale.status_code == 409 and 'id="edit-error"' in stale.text
    unchanged = ann.post(
        f"/articles/{seeded}/edit", data={"markdown": text, "based_on": "2", "csrf_token": token}
    )
    # InvalidTransition's own status: the edit form reads it from the class (pipeline.errors)
    assert unchanged.status_code == 409 and "changes nothing" in unchanged.text
    assert flow.current_revision(seeded).number == 2


def test_publish_rebuilds_the_static_site(
    sign_in: SignIn, demo_app: FastAPI, flow: Workflow, seeded: str, settings: Settings
) -> None:
    flow.submit("ann", seeded)
    flow.start_review("rex", seeded)
    flow.approve("rex", seeded)
    pam = sign_in("pam", demo_app)
    assert post_action(pam, seeded, "publish").status_code == 303
    page = pam.get(f"/articles/{seeded}").text
    assert "Site rebuilt with 1 article." in page
    assert (settings.outputs / "site" / "articles" / f"{seeded}.html").is_file()
    assert flow.store.article(seeded).state.status == "published"


def test_follow_up_from_a_published_article(
    sign_in: SignIn, demo_app: FastAPI, flow: Workflow
) -> None:
    ann = sign_in("ann", demo_app)
    parent = str(wait_for(ann, start_draft(ann, REFERENCE_QUESTION))["slug"])
    write_verdict(flow, parent)
    flow.submit("ann", parent)
    flow.start_review("rex", parent)
    flow.approve("rex", parent)
    flow.publish("pam", parent)
    page = ann.get(f"/articles/{parent}").text
    assert 'id="follow-up"' in page and '<label for="follow-up-question">' in page
    assert 'id="follow-up"' not in sign_in("rex", demo_app).get(f"/articles/{parent}").text
    question = "How long should IVIG be continued in stiff-person syndrome?"
    form = ann.get(f"/articles/{parent}/follow-up", params={"question": question})
    assert form.status_code == 200 and f">{question}</textarea>" in form.text
    response = ann.post(
        f"/articles/{parent}/follow-up",
        data={"question": question, "audience": "clinician", "csrf_token": csrf_of(ann)},
    )
    assert response.status_code == 303
    state = wait_for(ann, str(response.headers["location"]))
    assert state["state"] == "done" and state["parent"] == parent, state
    child = ann.get(f"/articles/{state['slug']}").text
    assert f'A follow-up question to <a href="/articles/{parent}">' in child
    assert flow.store.article(str(state["slug"])).state.status == "draft"


def test_follow_up_of_an_unpublished_article_fails_with_a_reason(
    sign_in: SignIn, demo_app: FastAPI, seeded: str
) -> None:
    ann = sign_in("ann", demo_app)
    response = ann.post(
        f"/articles/{seeded}/follow-up",
        data={"question": "And in children?", "audience": "clinician", "csrf_token": csrf_of(ann)},
    )
    # refused at submission, with the reason, not later in the background job
    assert response.status_code == 409, response.text
    assert "is not published" in response.text
    assert not ann.get("/jobs/1.json").is_success
    form = ann.get(f"/articles/{seeded}/follow-up")
    assert form.status_code == 409


def test_follow_up_refusals(sign_in: SignIn, seeded: str) -> None:
    rex = sign_in("rex")
    assert rex.get("/articles/nope/follow-up").status_code == 404
    response = rex.post(
        f"/articles/{seeded}/follow-up",
        data={"question": "And in children?", "audience": "clinician", "csrf_token": csrf_of(rex)},
    )
    assert response.status_code in (403, 501)  # rex may not draft (501: no follow-up core)
