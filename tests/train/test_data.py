"""pipeline.train.data: deterministic splits, and training pairs from approved articles only."""

from __future__ import annotations

from pathlib import Path

from pipeline.train.data import TrainingQuestion, half_of, validation_split


def test_half_split_and_validation_split_are_deterministic() -> None:
    questions = [TrainingQuestion(str(i), f"q{i}", frozenset({"c"})) for i in range(200)]
    halves = {half_of(q.id) for q in questions}
    assert halves == {"A", "B"}
    train, validation = validation_split(questions, seed=0)
    assert 5 <= len(validation) <= 40 and len(train) + len(validation) == 200
    assert validation_split(questions, seed=0) == (train, validation)
    assert validation_split(questions, seed=1)[1] != validation


def test_approved_articles_become_training_pairs_and_drafts_do_not(tmp_path: Path) -> None:
    from pipeline.store.db import Store
    from pipeline.train.data import pairs_from_store
    from tests.support.review_factories import make_article, staffed

    flow = staffed(Store(f"sqlite:///{tmp_path / 'press.sqlite'}"))
    approved = flow.store_draft("ann", *make_article()).article().slug
    flow.store_draft("ann", *make_article(question="Is drug Z safe?"))  # stays a draft
    assert pairs_from_store(flow.store) == []
    flow.submit("ann", approved)
    flow.start_review("rex", approved)
    flow.approve("rex", approved)
    (pair,) = pairs_from_store(flow.store)
    assert pair.text == "Does drug X help condition Y?"
    assert pair.citations == {"pmid:1", "pmid:2"}


def test_holdout_zero_trains_on_every_question_and_bad_shares_are_refused() -> None:
    import pytest

    from pipeline.errors import ConfigError

    questions = [TrainingQuestion(str(i), f"q{i}", frozenset({"c"})) for i in range(50)]
    assert validation_split(questions, seed=0, share=0) == (questions, [])
    assert len(validation_split(questions, seed=0, share=0.5)[1]) > 10
    for share in (1.0, -0.1):
        with pytest.raises(ConfigError, match="held-out share") as caught:
            validation_split(questions, seed=0, share=share)
        assert "--holdout 0" in caught.value.hint
