"""Packing: sources numbered in rank order, at most ``k``, within the token budget."""

from __future__ import annotations

from pipeline.models.corpus import Citation, Passage, SourceKind
from pipeline.models.evidence import ScoredPassage
from pipeline.retrieve.packing import EVIDENCE_HEADER_TOKENS, pack_evidence
from pipeline.tokens import count_tokens


def _hit(citation: str, ordinal: int, tokens: int) -> ScoredPassage:
    cited = Citation(id=citation, title=f"Title {citation}", source_kind=SourceKind.OTHER)
    passage = Passage(
        citation_id=citation, text=f"text {ordinal}", section="", ordinal=ordinal,
        token_count=tokens,
    )  # fmt: skip
    return ScoredPassage(passage=passage, citation=cited, score=1.0)


def test_sources_are_numbered_in_rank_order_and_capped_at_k() -> None:
    ranked = [_hit("b", 0, 5), _hit("a", 0, 5), _hit("b", 1, 5), _hit("c", 0, 5)]
    items, used = pack_evidence(ranked, 2, 10_000)
    assert [(e.number, e.citation.id, len(e.passages)) for e in items] == [
        (1, "b", 2), (2, "a", 1),
    ]  # fmt: skip
    header = EVIDENCE_HEADER_TOKENS + count_tokens("Title b")
    assert used == 15 + header + EVIDENCE_HEADER_TOKENS + count_tokens("Title a")


def test_a_passage_over_the_budget_is_skipped_and_a_later_one_may_fit() -> None:
    header = EVIDENCE_HEADER_TOKENS + count_tokens("Title a")
    ranked = [_hit("a", 0, 10), _hit("a", 1, 500), _hit("a", 2, 3)]
    items, used = pack_evidence(ranked, 5, header + 14)
    assert [p.passage.ordinal for p in items[0].passages] == [0, 2]
    assert used == header + 13
