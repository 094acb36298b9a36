"""Small, fast article fixtures for the store and review-workflow tests (no index needed)."""

from __future__ import annotations

from pipeline.cite import check as cite
from pipeline.draft.engine import slugify
from pipeline.models.article import Article, Audience, Bullet, Draft, DraftSection, Provenance
from pipeline.models.corpus import Citation, Passage, Section
from pipeline.models.evidence import Evidence, EvidenceSet, ScoredPassage
from pipeline.review.machine import Role
from pipeline.review.workflow import Workflow
from pipeline.store.db import Store

QUESTION = "Does drug X help condition Y?"
PASSAGES = {
    "pmid:1": "Drug X improved condition Y in a randomized trial of 60 adults.",
    "pmid:2": "A cohort study found fewer relapses of condition Y with drug X.",
}


def make_evidence(question: str = QUESTION) -> EvidenceSet:
    """Two numbered sources, each with one passage."""
    items = []
    for number, (cid, text) in enumerate(PASSAGES.items(), 1):
        citation = Citation(
            id=cid,
            title=f"Study {number} of drug X",
            year=2020 + number,
            topic="stiff_person_syndrome",
            sections=[Section(text=text)],
        )
        passage = Passage(citation_id=cid, text=text)
        items.append(
            Evidence(
                number=number,
                citation=citation,
                passages=[ScoredPassage(passage=passage, citation=citation, score=1.0)],
            )
        )
    return EvidenceSet(question=question, items=items, corpus_version="cv-test")


def make_article(
    question: str = QUESTION,
    audience: Audience = "clinician",
    bullet: str = "Drug X improved condition Y in a randomized trial.",
) -> tuple[Article, EvidenceSet]:
    """A checked article (one section, two cited bullets) and the evidence it cites."""
    evidence = make_evidence(question)
    draft = Draft(
        # Every field is supported by the two sources, so the claim checks that run on each
        # edit flag nothing here; a test that wants a flag plants it.
        headline="Drug X Improves Condition Y",
        summary="Drug X helps condition Y.",
        sections=[
            DraftSection(
                heading="Evidence",
                bullets=[
                    Bullet(text=bullet, citations=[1]),
                    Bullet(text="Relapses were fewer with drug X.", citations=[2]),
                ],
            )
        ],
        bottom_line="Drug X improved condition Y in a randomized trial.",
        verdict="yes",
    )
    check = cite.check_citations(draft, evidence)
    article = Article(
        slug=slugify(question, audience),
        question=question,
        audience=audience,
        draft=check.draft,
        references=check.references,
        last_updated="2026-01-05",
        provenance=Provenance(
            drafter="extractive",
            corpus_version="cv-test",
            settings_hash="s-test",
            prompt_versions={"draft": "1"},
        ),
    )
    return article, evidence


def staffed(store: Store) -> Workflow:
    """A workflow whose store has an author, two reviewers, a publisher and an admin."""
    workflow = Workflow(store)
    workflow.add_user("ann", [Role.AUTHOR])
    workflow.add_user("rex", [Role.REVIEWER])
    workflow.add_user("rita", [Role.REVIEWER, Role.AUTHOR])
    workflow.add_user("pam", [Role.PUBLISHER])
    workflow.add_user("ada", [Role.ADMIN])
    return workflow


def write_verdict(flow: Workflow, slug: str, author: str = "ann", extra: str = "") -> None:
    """Store an edit in which ``author`` writes every field the drafter left as a
    placeholder (the publish gate refuses approval before), re-checked with no support
    threshold so no bullet is flagged by the edit."""
    from pipeline.review.editing import edited_article
    from pipeline.review.gate import placeholder_fields
    current = flow.current_revision(slug)
    original = current.article()
    fields = placeholder_fields(original)
    if not fields:
        return
    written = {
        name: f"Editor's {name.replace('_', ' ')} for this question.{extra}" for name in fields
    }
    article, evidence = edited_article(
        original,
        original.draft.model_copy(update=written),
        current.evidence(),
        support_threshold=0.0,
    )
    flow.revise(author, slug, article, evidence, based_on=current.number)


def acknowledge_flags(flow: Workflow, slug: str, reviewer: str = "rex") -> int:
    """Let every open flagged check of the revision under review stand, as ``reviewer``
    (a harness standing in for a reviewer who checked each one); returns how many."""
    open_checks = [
        index for index, _, _, _, by in flow.open_items(slug) if index is not None and by is None
    ]
    for index in open_checks:
        flow.acknowledge(reviewer, slug, check=index, comment="checked against the passage")
    return len(open_checks)
