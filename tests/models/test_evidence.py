"""pipeline.models.evidence: an evidence item scores as its best passage; items by number."""

from __future__ import annotations

from pipeline.models.corpus import Citation, Passage
from pipeline.models.evidence import Evidence, EvidenceSet, ScoredPassage


def _item(number: int, *scores: float) -> Evidence:
    cited = Citation(id=f"c{number}", title=f"Study {number}")
    passages = [
        ScoredPassage(passage=Passage(citation_id=cited.id, text=f"t{i}"), citation=cited, score=s)
        for i, s in enumerate(scores)
    ]
    return Evidence(number=number, citation=cited, passages=passages)


def test_an_item_scores_as_its_best_passage_and_a_set_indexes_items_by_number() -> None:
    first, second = _item(1, 0.2, 0.9, 0.5), _item(3, 0.4)
    assert (first.score, second.score) == (0.9, 0.4)
    evidence = EvidenceSet(question="q", items=[first, second])
    assert evidence.by_number() == {1: first, 3: second}
