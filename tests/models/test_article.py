"""pipeline.models.article: what a check locates, and which drafts were written without an LLM."""

from __future__ import annotations

from pipeline.models.article import BulletCheck
from tests.support.review_factories import make_article


def test_a_check_stored_before_fields_existed_reads_as_a_bullet_check() -> None:
    assert BulletCheck.model_validate({"section": 0, "bullet": 1, "flagged": True}).is_bullet
    summary = BulletCheck(field="summary", sentence=1, text="A sentence.")
    assert not summary.is_bullet


def test_only_the_extractive_drafter_counts_as_drafted_without_an_llm() -> None:
    article = make_article()[0]
    for drafter, expected in [("extractive", True), ("llm", False)]:
        provenance = article.provenance.model_copy(update={"drafter": drafter})
        assert article.model_copy(update={"provenance": provenance}).drafted_without_llm is expected
