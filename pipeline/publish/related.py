"""Related Questions: for each article, the nearest *other* published questions.

Nearest first by cosine similarity of the questions' embeddings, or by word overlap
(Jaccard of content terms) when no embedding model is given, so a site builds offline and
in tests. Similarities are rounded before sorting and ties broken by question text, so the
same entries always link the same pages (the site is byte-for-byte deterministic).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from pipeline.cite.check import content_terms
from pipeline.publish.entries import SiteItem, collapse

RELATED_LIMIT = 5


def _similarity(questions: list[str], embeddings: Embeddings | None) -> Any:
    """Pairwise question similarity: cosine of embeddings, else Jaccard of content words."""
    if embeddings is not None and questions:
        vectors = np.asarray(embeddings.embed_documents(questions), dtype=np.float64)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)
        scores = vectors @ vectors.T
    else:
        terms = [content_terms(q) for q in questions]
        scores = np.array(
            [[len(a & b) / len(a | b) if a | b else 0.0 for b in terms] for a in terms]
        )
    return np.round(scores, 6)  # rounding keeps the order stable against float noise


def related_slugs(items: list[SiteItem], embeddings: Embeddings | None) -> dict[str, list[str]]:
    """For each slug, up to five slugs of the nearest *other* published questions.

    Each other question appears once, in the same audience as the article when that version
    exists. The article itself and its other-audience twin (same question) are excluded, as
    are questions with no similarity at all. Ties are broken by question text.
    """
    keys = sorted({item.key for item in items})
    versions: dict[str, list[SiteItem]] = {key: [] for key in keys}
    for item in sorted(items, key=lambda i: i.slug):
        versions[item.key].append(item)
    texts = [collapse(versions[key][0].entry.article.question) for key in keys]
    scores = _similarity(texts, embeddings)
    related: dict[str, list[str]] = {}
    for item in items:
        row = scores[keys.index(item.key)]
        near = sorted(
            (j for j, key in enumerate(keys) if key != item.key and row[j] > 0),
            key=lambda j: (-row[j], keys[j]),
        )[:RELATED_LIMIT]
        audience = item.entry.article.audience
        related[item.slug] = [
            next(
                (v for v in versions[keys[j]] if v.entry.article.audience == audience),
                versions[keys[j]][0],
            ).slug
            for j in near
        ]
    return related
