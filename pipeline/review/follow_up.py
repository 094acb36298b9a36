"""Follow-up questions: a new draft asked from a published article, linked to it.

A reader of a published article asks a follow-up (the site's "Have a follow-up question?"
box, the desk, or ``press draft "QUESTION" --follow-up SLUG``). :func:`request_follow_up`

1. refuses unless the parent article exists and has a live publication;
2. drafts the question with the ordinary drafting stage
   (:func:`pipeline.draft.engine.draft_article`), passing the passages of the parent's *published*
   revision's evidence as retrieval hints: they join the candidate pool with their true
   scores for the new question, so a relevant one that a large corpus pushed below the
   candidate cut can still be found, and an irrelevant one still loses (nothing is forced
   in); and the parent's question is appended to the follow-up for retrieval (not for
   drafting), because a follow-up is often elliptical ("Are there alternatives if it stops
   working?" found nothing sufficient on the demo corpus alone);
3. stores the result through :meth:`pipeline.review.workflow.Workflow.store_draft` — the same
   code as ``press draft`` — so it lands in the authors' queue as a draft and goes through the
   same review;
4. links it to its parent (:class:`pipeline.store.follow_ups.FollowUps`).

The audience defaults to the parent's. The link is written after the draft, in its own
transaction: a crash between the two leaves an ordinary, unlinked draft, never a link to
nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from langchain_core.language_models import BaseChatModel

from pipeline.draft.engine import DraftRun, Stage, draft_article
from pipeline.errors import InputError, InvalidTransition, NotFoundError, ReviewError
from pipeline.index.hybrid import Index
from pipeline.models.article import Audience
from pipeline.models.evidence import SearchFilters
from pipeline.review.workflow import Workflow
from pipeline.settings.load import Settings
from pipeline.store.db import Store
from pipeline.store.follow_ups import FollowUps
from pipeline.store.records import ArticleRecord, RevisionRecord


@dataclass(frozen=True)
class FollowUpRun:
    """A drafted and stored follow-up: the drafting run, the stored revision, its parent."""

    run: DraftRun
    revision: RevisionRecord
    article: ArticleRecord
    parent: ArticleRecord
    hint_ids: tuple[str, ...]
    linked: bool


def published_parent(store: Store, slug: str) -> ArticleRecord:
    """The article a follow-up may be asked from: it must exist and be live on the site."""
    parent = store.find_article(slug=slug)
    if parent is None:
        raise NotFoundError(
            f"No article {slug!r} to ask a follow-up of",
            "Follow-ups are asked from a published article; `press status` lists the articles.",
        )
    if parent.state.published_revision_id is None:
        raise InvalidTransition(
            f"{slug!r} is not published ({parent.state.status}): follow-ups are asked from "
            "published articles only",
            f"Publish it first (`press status {slug}` shows who may), or draft the question "
            "on its own with `press draft`.",
        )
    return parent


def parent_hint_ids(store: Store, parent: ArticleRecord) -> tuple[str, ...]:
    """Passage ids of the evidence behind the parent's published revision, in order."""
    assert parent.state.published_revision_id is not None
    evidence = store.revision(parent.state.published_revision_id).evidence()
    ids = (p.passage.id for item in evidence.items for p in item.passages)
    return tuple(dict.fromkeys(ids))


def draft_follow_up(
    settings: Settings,
    flow: Workflow,
    index: Index,
    parent_slug: str,
    question: str,
    author: str,
    *,
    audience: Audience | None = None,
    use_llm: bool | None = None,
    llm: BaseChatModel | None = None,
    filters: SearchFilters | None = None,
    k: int | None = None,
    on_stage: Callable[[Stage], None] | None = None,
) -> FollowUpRun:
    """Draft, store and link a follow-up; returns every intermediate (see the module doc).

    Every refusal (no such parent, parent not published, empty or repeated question, a user
    who may not draft) is raised before anything is retrieved, drafted or stored.
    """
    question = " ".join(question.split())
    if not question:
        raise InputError(
            "The follow-up question is empty", "Type the question to ask about the article."
        )
    parent = published_parent(flow.store, parent_slug)
    chosen = cast(Audience, audience or parent.audience)
    if chosen == parent.audience and question.casefold() == (
        " ".join(parent.question.split()).casefold()
    ):
        raise ReviewError(
            f"The follow-up repeats the question {parent_slug!r} already answers",
            "Ask something the article leaves open; to change the article itself use "
            f"`press edit {parent_slug}`.",
        )
    flow.draft_author(author)  # refuse unknown users before drafting is paid for
    hints = parent_hint_ids(flow.store, parent)
    run = draft_article(
        question,
        settings=settings,
        index=index,
        audience=chosen,
        use_llm=use_llm,
        llm=llm,
        filters=filters,
        k=k,
        hint_ids=hints,
        retrieval_context=parent.question,
        on_stage=on_stage,
    )
    revision = flow.store_draft(author, run.article, run.evidence)
    article = flow.store.article(revision.article().slug)
    run.article.slug = article.slug
    links = FollowUps(flow.store)
    linked = not _ancestor(links, parent, article) and links.link_follow_up(
        article, parent, at=flow.clock()
    )
    return FollowUpRun(run, revision, article, parent, hints, linked)


def request_follow_up(
    settings: Settings,
    flow: Workflow,
    index: Index,
    parent_slug: str,
    question: str,
    author: str,
    *,
    audience: Audience | None = None,
    use_llm: bool | None = None,
    llm: BaseChatModel | None = None,
    on_stage: Callable[[Stage], None] | None = None,
) -> RevisionRecord:
    """Ask ``question`` as a follow-up of the published article ``parent_slug``.

    Drafts it (the parent's published evidence as retrieval hints), stores it as a draft by
    ``author`` through the workflow and links it to the parent; returns the stored revision.
    Raises :class:`~pipeline.errors.NotFoundError` (no such parent),
    :class:`~pipeline.errors.InvalidTransition` (parent not published),
    :class:`~pipeline.errors.ReviewError` / :class:`~pipeline.errors.PermissionDenied`
    (repeated question, author may not draft) or :class:`~pipeline.errors.InputError`
    (empty question), each with a hint.
    """
    return draft_follow_up(
        settings,
        flow,
        index,
        parent_slug,
        question,
        author,
        audience=audience,
        use_llm=use_llm,
        llm=llm,
        on_stage=on_stage,
    ).revision


def _ancestor(links: FollowUps, start: ArticleRecord, article: ArticleRecord) -> bool:
    """True when ``article`` is ``start`` or one of its parents (a link would make a cycle)."""
    seen: set[int] = set()
    node: ArticleRecord | None = start
    while node is not None and node.id not in seen:
        if node.id == article.id:
            return True
        seen.add(node.id)
        node = links.parent_of(node)
    return False
