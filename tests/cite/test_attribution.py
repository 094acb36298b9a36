"""Misattribution: a better-supporting uncited source is named only past the margin."""

from __future__ import annotations

import pytest

from pipeline.cite.attribution import attribution_score, better_source, reattributed
from pipeline.models.article import BulletCheck
from tests.support.review_factories import make_article, make_evidence

CLAIM = "Gabapentin lowered muscle stiffness scores in stiff-person syndrome patients."


def test_the_copied_source_wins_only_when_it_beats_the_cited_one_by_the_margin() -> None:
    evidence = make_evidence()
    item = evidence.items[1]
    scored = item.passages[0]
    passage = scored.passage.model_copy(update={"text": CLAIM})
    copied = item.model_copy(update={"passages": [scored.model_copy(update={"passage": passage})]})
    unrelated = ["Aspirin reduced headache frequency in adults."]
    cited, better = better_source(CLAIM, unrelated, [(2, copied)], margin=0.15)
    assert better is not None and better.number == 2 and better.score == pytest.approx(1.0)
    assert cited == pytest.approx(attribution_score(CLAIM, unrelated, None))
    assert better_source(CLAIM, [CLAIM], [(2, copied)], margin=0.15)[1] is None


def test_reattributing_cites_only_the_better_source_and_refuses_an_unflagged_bullet() -> None:
    article, _ = make_article()
    flagged = BulletCheck(section=0, bullet=0, numbers=[1], flagged=True, better=2)
    draft = reattributed(article.draft, flagged)
    assert draft.sections[0].bullets[0].citations == [2]
    assert article.draft.sections[0].bullets[0].citations != [2]  # the original is untouched
    with pytest.raises(ValueError):
        reattributed(article.draft, BulletCheck(section=0, bullet=0, numbers=[1]))
