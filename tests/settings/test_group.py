"""pipeline.settings.group: a settings field must be classified as drafting or not."""

from __future__ import annotations

from typing import ClassVar

import pytest


def test_a_new_unclassified_field_is_refused_at_class_definition() -> None:
    from pipeline.settings.group import SettingsGroup

    with pytest.raises(TypeError, match="brand_new"):

        class Extra(SettingsGroup):
            DRAFTING: ClassVar[frozenset[str]] = frozenset({"kept"})
            kept: int = 1
            brand_new: int = 2
