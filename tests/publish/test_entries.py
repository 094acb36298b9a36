"""pipeline.publish.entries: unapproved entries, unsafe slugs and other bad entries are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import PressError, PublishError, UnapprovedEntryError, UnsafeSlugError
from pipeline.publish.site import build_site
from tests.support.site_entries import ASPIRIN, IVIG, METFORMIN, entries, entry


@pytest.mark.parametrize("status", ["draft", "submitted", "under_review", "withdrawn", "Approved"])
def test_unapproved_entry_is_refused_before_anything_is_written(
    tmp_path: Path, status: str
) -> None:
    bad = [*entries(), entry("not-yet", METFORMIN, 9, status=status)]
    with pytest.raises(UnapprovedEntryError) as info:
        build_site(bad, tmp_path / "site")
    assert "not-yet" in str(info.value) and info.value.hint
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize(
    "slug", ["../evil", "a/b", "a\\b", "..", "Up", "a.b", "a b", "", "-x", "é"]
)
def test_unsafe_slug_is_refused(tmp_path: Path, slug: str) -> None:
    with pytest.raises(UnsafeSlugError) as info:
        build_site([entry(slug, IVIG, 1)], tmp_path / "site")
    assert "[a-z0-9-]" in str(info.value) or "letters, digits" in str(info.value)
    assert isinstance(info.value, PressError)
    assert list(tmp_path.iterdir()) in ([], [tmp_path / "press-home"])


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: [entry("a", IVIG, 1), entry("a", ASPIRIN, 2)], "two entries"),
        (lambda: [entry("a", IVIG, 1, reviewed_by=[" "])], "no reviewer"),
        (lambda: [entry("a", IVIG, 1).model_copy(update={"approved_at": "yesterday"})], "ISO"),
    ],
)
def test_other_bad_entries_are_refused(tmp_path: Path, make: Any, words: str) -> None:
    with pytest.raises(PublishError, match=words):
        build_site(make(), tmp_path / "site")
