"""Chunking: token-aware, section-aware, abstracts under the limit stay whole."""

from __future__ import annotations

import pytest

from pipeline.errors import ConfigError
from pipeline.ingest.chunking import Chunker
from pipeline.models.corpus import Citation, Section
from pipeline.settings.corpus import ChunkSettings


def _citation(*sections: tuple[str, str]) -> Citation:
    return Citation(
        id="pmid:1", title="T", sections=[Section(heading=h, text=t) for h, t in sections]
    )


def test_short_structured_abstract_stays_one_passage_with_inline_headings() -> None:
    chunker = Chunker(ChunkSettings(max_tokens=200, overlap_tokens=20))
    passages = chunker.chunk(
        _citation(("Background", "Stiffness is common."), ("Results", "IVIG reduced stiffness."))
    )
    assert len(passages) == 1
    assert passages[0].text == "Background: Stiffness is common. Results: IVIG reduced stiffness."


def test_long_text_is_split_under_the_limit_with_overlap() -> None:
    settings = ChunkSettings(max_tokens=60, overlap_tokens=15)
    chunker = Chunker(settings)
    body = " ".join(f"Sentence {i} reports a separate finding about dosing." for i in range(40))
    passages = chunker.chunk(_citation(("Methods", body)))
    assert len(passages) > 5
    assert all(p.token_count <= settings.max_tokens for p in passages)
    # consecutive windows share at least one sentence (the overlap)
    first, second = passages[0].text, passages[1].text
    assert first.split(". ")[-1].rstrip(".") in second
    assert [p.ordinal for p in passages] == list(range(len(passages)))


def test_sections_are_not_mixed_when_the_body_is_long() -> None:
    chunker = Chunker(ChunkSettings(max_tokens=80, overlap_tokens=10))
    intro = " ".join(["Alpha finding about gabapentin dosing in adults."] * 12)
    methods = " ".join(["Beta measurement of baclofen response in trials."] * 12)
    passages = chunker.chunk(_citation(("Intro", intro), ("Methods", methods)))
    for passage in passages:
        assert not ("Alpha" in passage.text and "Beta" in passage.text)
    assert {p.section for p in passages} == {"Intro", "Methods"}


def test_a_single_overlong_sentence_is_cut_by_tokens() -> None:
    chunker = Chunker(ChunkSettings(max_tokens=40, overlap_tokens=5))
    passages = chunker.chunk(_citation(("", "word " * 300)))
    assert len(passages) >= 7
    assert all(p.token_count <= 40 for p in passages)


def test_empty_body_gives_no_passages() -> None:
    assert Chunker().chunk(_citation(("Empty", "   "))) == []


def test_passage_ids_depend_on_text_and_citation() -> None:
    chunker = Chunker()
    a = chunker.chunk(_citation(("", "Same text here for both.")))[0]
    b = chunker.chunk(_citation(("", "Same text here for both.")))[0]
    c = chunker.chunk(_citation(("", "Different text here.")))[0]
    assert a.id == b.id != c.id


def test_overlap_must_be_smaller_than_size() -> None:
    with pytest.raises(ConfigError):
        Chunker(ChunkSettings(max_tokens=50, overlap_tokens=50))
