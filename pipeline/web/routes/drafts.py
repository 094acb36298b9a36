"""New drafts and follow-up questions, run as background jobs, and the job pages.

A new draft runs the same stages as ``press draft``: :func:`pipeline.draft.engine.draft_article`,
then :meth:`Workflow.store_draft` (a new article, or a new revision of the article with the
same question and audience) and :func:`pipeline.draft.engine.save_run`. The author is checked
(:meth:`Workflow.draft_author`) before anything is queued. A follow-up calls
:func:`pipeline.review.follow_up.request_follow_up`, which links the new draft to its parent.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from pipeline.draft.engine import draft_article, save_run
from pipeline.errors import InvalidTransition
from pipeline.review.follow_up import request_follow_up
from pipeline.store.records import ArticleRecord
from pipeline.web.csrf import require_csrf
from pipeline.web.desk import Desk, desk_of
from pipeline.web.jobs import STORING, Job
from pipeline.web.routes.articles import Slug

router = APIRouter()

AudienceField = Annotated[Literal["clinician", "patient"], Form()]
QuestionField = Annotated[str, Form(min_length=3, max_length=1000)]


@router.get("/drafts/new")
def new_draft_form(request: Request) -> Response:
    """The new-draft form (authors and admins)."""
    desk = desk_of(request)
    user = desk.user(request)
    desk.flow.draft_author(user.name)
    return desk.page(request, "new_draft.html.j2", {}, user=user)


@router.post("/drafts", dependencies=[Depends(require_csrf)])
def new_draft(request: Request, question: QuestionField, audience: AudienceField) -> Response:
    """Queue a drafting job and show its progress page."""
    desk = desk_of(request)
    user = desk.user(request)
    author = desk.flow.draft_author(user.name).name
    question = " ".join(question.split())

    def work(job: Job) -> str:
        with desk.index_lock:
            run = draft_article(
                question,
                settings=desk.settings,
                index=desk.index(),
                audience=audience,
                use_llm=desk.use_llm,
                llm=desk.llm,
                on_stage=job.on_stage,
            )
        job.advance(STORING)
        revision = desk.flow.store_draft(author, run.article, run.evidence)
        run.article.slug = revision.article().slug
        save_run(run, desk.settings.outputs)
        return run.article.slug

    job = desk.jobs.submit(user.name, question, audience, work)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.get("/articles/{slug}/follow-up")
def follow_up_form(request: Request, slug: Slug, question: str = "") -> Response:
    """The follow-up form for article ``slug``, prefilled with ``question``."""
    desk = desk_of(request)
    user = desk.user(request)
    record = _published(desk, slug)
    context = {"record": record, "question": question[:1000]}
    return desk.page(request, "follow_up.html.j2", context, user=user)


@router.post("/articles/{slug}/follow-up", dependencies=[Depends(require_csrf)])
def follow_up(
    request: Request, slug: Slug, question: QuestionField, audience: AudienceField
) -> Response:
    """Queue a follow-up draft linked to article ``slug``."""
    desk = desk_of(request)
    user = desk.user(request)
    author = desk.flow.draft_author(user.name).name
    _published(desk, slug)
    question = " ".join(question.split())

    def work(job: Job) -> str:
        with desk.index_lock:
            revision = request_follow_up(
                desk.settings,
                desk.flow,
                desk.index(),
                slug,
                question,
                author,
                audience=audience,
                use_llm=desk.use_llm,
                llm=desk.llm,
                on_stage=job.on_stage,
            )
        return revision.article().slug

    job = desk.jobs.submit(user.name, question, audience, work, parent=slug)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.get("/jobs/{job_id}.json")
def job_json(request: Request, job_id: str) -> Response:
    """The job's state as JSON (for scripts and tests)."""
    return JSONResponse(_job(desk_of(request), request, job_id).as_dict())


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: str) -> Response:
    """Progress of a drafting job; refreshes itself, then opens the draft when done."""
    desk = desk_of(request)
    job = _job(desk, request, job_id)
    if job.state == "done" and job.slug:
        return RedirectResponse(f"/articles/{job.slug}", status_code=303)
    return desk.page(request, "job.html.j2", {"job": job.as_dict()}, user=desk.user(request))


def _published(desk: Desk, slug: str) -> ArticleRecord:
    """Article ``slug`` if readers can see it; follow-ups are asked from published answers
    only, so the refusal comes with the form, not later from the background job."""
    record = desk.store.article(slug)
    if record.state.published_revision_id is None:
        raise InvalidTransition(
            f"{slug!r} is not published, so it takes no follow-up questions yet",
            "Ask the follow-up from a published article, or draft it as a new question "
            "(New draft).",
        )
    return record


def _job(desk: Desk, request: Request, job_id: str) -> Job:
    user = desk.user(request)
    job = desk.jobs.get(job_id, user.name)
    if job is None:
        raise HTTPException(404, "No such drafting job.")
    return job
