"""Search filters (year range, minimum evidence level, source kinds) for both search sides.

One :class:`~pipeline.models.evidence.SearchFilters` becomes a Chroma ``where`` clause for the dense
side and a boolean mask over the BM25 index's per-passage fields for the lexical side, so
both sides rank exactly the same passages: a filter must never let one side see a passage
the other cannot. Both translations live here, side by side, so they change together.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.models.evidence import SearchFilters


def chroma_where(filters: SearchFilters) -> dict[str, Any] | None:
    """Translate filters into a Chroma ``where`` clause."""
    clauses: list[dict[str, Any]] = []
    if filters.year_from is not None:
        clauses.append({"year": {"$gte": filters.year_from}})
    if filters.year_to is not None:
        clauses.append({"year": {"$lte": filters.year_to}})
    if filters.min_level is not None:
        clauses.append({"evidence_rank": {"$lte": filters.min_level.rank}})
    if filters.source_kinds:
        clauses.append({"source_kind": {"$in": [k.value for k in filters.source_kinds]}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def lexical_mask(fields: dict[str, np.ndarray], filters: SearchFilters) -> np.ndarray | None:
    """The same filters as a boolean mask over the BM25 index's passages."""
    if chroma_where(filters) is None or "year" not in fields:
        return None
    mask = np.ones(len(fields["year"]), dtype=bool)
    if filters.year_from is not None:
        mask &= fields["year"] >= filters.year_from
    if filters.year_to is not None:
        mask &= (fields["year"] <= filters.year_to) & (fields["year"] >= 0)
    if filters.min_level is not None:
        mask &= fields["evidence_rank"] <= filters.min_level.rank
    if filters.source_kinds:
        mask &= np.isin(fields["source_kind"], [k.value for k in filters.source_kinds])
    return mask
