"""Unit tests for pipeline.cite.markers: reading and removing inline citation markers."""

from __future__ import annotations

import pytest

from pipeline.cite.markers import MAX_RANGE, extract_markers, strip_markers

# extract_markers


def test_single_marker() -> None:
    assert extract_markers("Claim [1].") == [1]


def test_comma_list_with_space() -> None:
    assert extract_markers("Claim [1, 2].") == [1, 2]


def test_comma_list_without_space() -> None:
    assert extract_markers("Claim [1,2].") == [1, 2]


def test_hyphen_range_expands() -> None:
    assert extract_markers("Claim [1-3].") == [1, 2, 3]


def test_en_dash_range_expands() -> None:
    assert extract_markers("Claim [1–3].") == [1, 2, 3]


def test_adjacent_markers() -> None:
    assert extract_markers("Claim [1][2].") == [1, 2]


def test_mixed_list_and_range() -> None:
    assert extract_markers("Claim [1, 4-6].") == [1, 4, 5, 6]


def test_markers_keep_order_and_repeats() -> None:
    assert extract_markers("A [3] then B [1] and C [3]") == [3, 1, 3]


def test_range_is_capped() -> None:
    assert extract_markers("[1-500]") == list(range(1, MAX_RANGE + 1))


def test_descending_range_keeps_both_ends() -> None:
    assert extract_markers("[5-2]") == [5, 2]


@pytest.mark.parametrize("text", ["[sic]", "[a]", "[2019]", "[1, 2019]", "[1a]", "[]", "(1)"])
def test_non_markers_are_ignored(text: str) -> None:
    assert extract_markers(text) == []


# strip_markers


def test_strip_before_period() -> None:
    assert strip_markers("Claim [1].") == "Claim."


def test_strip_before_comma() -> None:
    assert strip_markers("Claim [1, 2], which holds") == "Claim, which holds"


def test_strip_mid_sentence() -> None:
    assert strip_markers("Claim [1] holds") == "Claim holds"


def test_strip_adjacent_run() -> None:
    assert strip_markers("Claim [1][2] [3].") == "Claim."


def test_strip_leading_marker() -> None:
    assert strip_markers("[2] Claim") == "Claim"


def test_strip_keeps_words_apart() -> None:
    assert strip_markers("dose[1]response") == "dose response"


def test_strip_keeps_non_markers() -> None:
    assert strip_markers("As written [sic] in [2019] [1].") == "As written [sic] in [2019]."


def test_strip_leaves_text_without_markers_alone() -> None:
    assert strip_markers("  spaced  text ") == "  spaced  text "
