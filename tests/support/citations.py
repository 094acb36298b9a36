"""A minimal citation factory shared by tests/cite/test_check.py and test_references.py."""

from __future__ import annotations

from pipeline.models.corpus import Citation


def citation(n: int, **fields: object) -> Citation:
    """A minimal citation with id ``c<n>``."""
    return Citation.model_validate({"id": f"c{n}", "title": f"Study {n}", **fields})
