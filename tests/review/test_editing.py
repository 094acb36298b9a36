"""Re-checking an edited article: its evidence is renumbered like its references."""

from __future__ import annotations

from pipeline.review.editing import align_evidence
from tests.support.review_factories import make_article


def test_align_evidence_gives_cited_sources_their_reference_numbers() -> None:
    article, evidence = make_article()
    swapped = [r.model_copy(update={"number": 3 - r.number}) for r in article.references]
    article = article.model_copy(update={"references": swapped})
    aligned = align_evidence(evidence, article)
    assert [(item.number, item.citation.id) for item in aligned.items] == [
        (1, "pmid:2"),
        (2, "pmid:1"),
    ]
