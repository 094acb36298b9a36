"""What a revision's content hash covers, and how an edited article is re-checked.

The content hash is what an approval binds to, so it covers exactly what readers see and
nothing else: the question, the audience, the checked draft (headline, summary, sections,
bullets with their citation numbers, bottom line, related questions, verdict) and each
reference's number, formatted text, link and evidence level. Status, dates, provenance and
support scores are left out: they change without changing the text a reviewer approved. The
canonical form is sorted-key, compact JSON (UTF-8), hashed with SHA-256.

An edit comes back from the Markdown editor as a :class:`~pipeline.models.Draft` numbered
like the article's references. :func:`align_evidence` renumbers the revision's stored
evidence set to match (cited sources take their reference numbers, the others follow), and
:func:`edited_article` runs the citation check again against it, so an editor can cite any
source the original retrieval found but cannot invent one.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pipeline.models import Article, Draft, EvidenceSet

if TYPE_CHECKING:
    from pipeline.cite.check import Embed
def canonical_content(article: Article) -> str:
    """The reader-visible content of an article as canonical JSON (see module docstring)."""
    content: dict[str, Any] = {
        "question": article.question,
        "audience": article.audience,
        "draft": article.draft.model_dump(mode="json"),
        "references": [
            {
                "number": ref.number,
                "citation_id": ref.citation_id,
                "text": ref.text,
                "url": ref.url,
                "evidence_level": ref.evidence_level.value,
            }
            for ref in sorted(article.references, key=lambda r: r.number)
        ],
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(article: Article) -> str:
    """SHA-256 (hex) of :func:`canonical_content`: the value an approval binds to."""
    return hashlib.sha256(canonical_content(article).encode("utf-8")).hexdigest()


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
    # Imported here so reading the store (status, history, publishing) does not load the
    # drafting stack; only an edit needs the citation check.
    from pipeline.cite import check as cite
    from pipeline.cite import claims
    from pipeline.settings import DraftSettings
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
