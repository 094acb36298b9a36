"""Re-checking an edited article against the evidence its revision was checked against.

An edit comes back from the Markdown editor (``press edit``, the desk) as a
:class:`~pipeline.models.article.Draft` numbered like the article's references.
:func:`align_evidence` renumbers the revision's stored evidence set to match (cited sources
take their reference numbers, the others follow), and :func:`edited_article` runs the
citation check and the claim checks again against it, so an editor can cite any source the
original retrieval found but cannot invent one.

This is review logic on top of the citation check (:mod:`pipeline.cite`), so it lives in the
review package; the store only keeps what an edit produces (:mod:`pipeline.store.content`
says what the stored revision's content hash covers).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.cite import check as cite
from pipeline.cite import claims
from pipeline.cite.check import Embed
from pipeline.models.article import Article, Draft
from pipeline.models.evidence import EvidenceSet
from pipeline.settings.drafting import DraftSettings


def align_evidence(evidence: EvidenceSet, article: Article) -> EvidenceSet:
    """Renumber ``evidence`` so each cited source carries its reference number in ``article``.

    Sources the article does not cite keep their relative order and are numbered after the
    highest reference number, so an edit may still cite them.
    """
    numbers = {ref.citation_id: ref.number for ref in article.references}
    cited = [item for item in evidence.items if item.citation.id in numbers]
    uncited = [item for item in evidence.items if item.citation.id not in numbers]
    next_number = max(numbers.values(), default=0) + 1
    items = [item.model_copy(update={"number": numbers[item.citation.id]}) for item in cited]
    items += [item.model_copy(update={"number": next_number + i}) for i, item in enumerate(uncited)]
    return evidence.model_copy(update={"items": sorted(items, key=lambda item: item.number)})


def edited_article(
    original: Article,
    draft: Draft,
    evidence: EvidenceSet,
    *,
    support_threshold: float,
    misattribution_margin: float | None = None,
    embed: Embed | None = None,
) -> tuple[Article, EvidenceSet]:
    """Re-check an edited draft against the original revision's evidence.

    Returns the new article (status ``draft``, dated today, provenance of the original with
    a new creation time) and the evidence set it was checked against. Every field's claims
    are checked again (:func:`pipeline.cite.claims.article_checks`); ``misattribution_margin``
    defaults to the setting's default.
    """
    if misattribution_margin is None:
        misattribution_margin = DraftSettings().misattribution_margin
    aligned = align_evidence(evidence, original)
    check = cite.check_citations(draft, aligned, support_threshold=support_threshold, embed=embed)
    checks = claims.article_checks(
        check,
        aligned,
        support_threshold=support_threshold,
        margin=misattribution_margin,
        embed=embed,
    )
    now = datetime.now(UTC)
    article = original.model_copy(
        update={
            "draft": check.draft,
            "references": check.references,
            "checks": checks,
            "removed_markers": check.removed_markers,
            "status": "draft",
            "last_updated": now.date().isoformat(),
            "provenance": original.provenance.model_copy(
                update={"created_at": now.isoformat(timespec="seconds")}
            ),
        }
    )
    return article, aligned
