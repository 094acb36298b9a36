"""What a revision's content hash covers.

The content hash is what an approval binds to, so it covers exactly what readers see and
nothing else: the question, the audience, the checked draft (headline, summary, sections,
bullets with their citation numbers, bottom line, related questions, verdict) and each
reference's number, formatted text, link and evidence level. Status, dates, provenance and
support scores are left out: they change without changing the text a reviewer approved. The
canonical form is sorted-key, compact JSON (UTF-8), hashed with SHA-256.

Re-checking an edit before it is stored is review logic (:mod:`pipeline.review.editing`):
the store imports nothing from drafting or the citation check.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pipeline.models.article import Article


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
