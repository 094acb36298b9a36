"""Packing: the ranked passages into numbered sources within the drafting token budget.

Passages are taken in rank order and grouped by citation; sources are numbered 1..n in the
order they first appear, at most ``k`` of them. A passage that does not fit the budget is
skipped (a later, shorter one may still fit). The budget counts what the model really
reads: each passage's tokens, and for each new source its title and the prompt's
delimiters (:data:`EVIDENCE_HEADER_TOKENS`).
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.models.evidence import Evidence, ScoredPassage
from pipeline.tokens import count_tokens

EVIDENCE_HEADER_TOKENS = 30
"""Tokens of one source's delimiters in the drafting prompt besides its title and passages
(``<evidence number=… level=… year=…>``, ``Title:``, ``</evidence>``; measured: 25–29 in
cl100k). Counted into ``token_budget`` so the budget bounds what the model really reads:
passages alone undercounted the evidence block by 21–31%."""


def pack_evidence(
    ranked: Sequence[ScoredPassage], k: int, budget: int
) -> tuple[list[Evidence], int]:
    """At most ``k`` numbered sources from ``ranked`` within ``budget`` tokens, and the
    tokens they use."""
    items: dict[str, Evidence] = {}
    used = 0
    for scored in ranked:
        cid = scored.citation.id
        cost = scored.passage.token_count or 1
        if cid not in items:  # a new source also brings its delimiters and title
            cost += EVIDENCE_HEADER_TOKENS + count_tokens(scored.citation.title)
        if used + cost > budget:
            continue
        if cid not in items:
            if len(items) >= k:
                continue
            items[cid] = Evidence(number=len(items) + 1, citation=scored.citation, passages=[])
        items[cid].passages.append(scored)
        used += cost
    return list(items.values()), used
