"""Bad input gives the project's errors (or skip reasons), never a raw exception."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import LoadError, UnknownFormatError
from pipeline.ingest.loaders.base import LoadResult
from pipeline.ingest.loaders.detect import detect_format
from pipeline.ingest.loaders.dispatch import load_file
from pipeline.ingest.loaders.registry import FORMATS
from pipeline.models.corpus import Citation
from tests.support import tally
from tests.support.tally import examples


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("content", [b"", b"   \n\n"])
def test_empty_file_is_a_load_error(tmp_path: Path, fmt: str, content: bytes) -> None:
    path = tmp_path / "empty"
    path.write_bytes(content)
    with pytest.raises(LoadError) as info:
        FORMATS[fmt](path)
    assert str(path) in str(info.value) and info.value.hint


@pytest.mark.parametrize(
    ("fmt", "content"),
    [
        ("pubmed-xml", b"<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID>"),
        ("jats", b"<article><front><article-meta><title-group><article-title>T"),
        ("csl-json", b'[{"title": "A"}, {"title": '),
    ],
)
def test_truncated_documents(tmp_path: Path, fmt: str, content: bytes) -> None:
    path = tmp_path / "cut"
    path.write_bytes(content)
    with pytest.raises(LoadError):
        FORMATS[fmt](path)


def test_malformed_jsonl_line_rejects_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    good = json.dumps({"title": "fine", "abstract": "text"})
    path.write_text(f"{good}\n{good}\n{{not json}}\n{good}\n", encoding="utf-8")
    with pytest.raises(LoadError) as info:
        load_file(path)
    assert info.value.record == "line 3"


def test_undecodable_bytes(tmp_path: Path) -> None:
    jsonl = tmp_path / "latin.jsonl"
    jsonl.write_bytes('{"title": "Caf\xe9"}\n'.encode("latin-1"))
    with pytest.raises(LoadError, match="decode"):
        FORMATS["jsonl"](jsonl)  # JSON must be UTF-8: no guessing
    legacy = tmp_path / "legacy.txt"
    legacy.write_bytes("Caf\xe9 au lait\n\nServed hot.\n".encode("cp1252"))
    (citation,) = FORMATS["text"](legacy).citations  # text falls back to cp1252
    assert citation.title == "Café au lait"
    garbage = tmp_path / "garbage.txt"
    garbage.write_bytes(b"\x81\x8d\x8f\x90\x9d" * 20)  # undefined in cp1252, C1 in latin-1
    with pytest.raises(LoadError, match="decode"):
        FORMATS["text"](garbage)


@pytest.mark.parametrize(
    ("fmt", "content"),
    [
        ("jsonl", '{"pmid": "123", "authors": ["Dalakas MC"]}\n'),
        ("ris", "TY  - JOUR\nAU  - Dalakas, MC\nER  - \n"),
        ("csl-json", '[{"type": "article-journal", "volume": "3"}]'),
        ("bibtex", "@article{k, year = {2001}}"),
        ("medline", "PMID- 123\nAU  - Dalakas MC\n"),
        (
            "pubmed-xml",
            "<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>9</PMID><Article>"
            "<ArticleTitle/></Article></MedlineCitation></PubmedArticle></PubmedArticleSet>",
        ),
    ],
)
def test_record_without_title_or_body_is_skipped(tmp_path: Path, fmt: str, content: str) -> None:
    path = tmp_path / "record"
    path.write_text(content, encoding="utf-8")
    result = FORMATS[fmt](path)
    assert result.citations == []
    assert len(result.skipped) == 1
    assert "neither a title nor a body" in result.skipped[0].reason


@pytest.mark.parametrize(
    ("fmt", "content"),
    [
        ("markdown", "".join("  " * depth + "- item\n" for depth in range(2000))),
        (
            "jats",
            "<article><front><article-meta><title-group><article-title>T</article-title>"
            "</title-group></article-meta></front><body>"
            + "<sec><title>a</title><p>x</p>" * 1500
            + "</sec>" * 1500
            + "</body></article>",
        ),
        (
            "pubmed-xml",
            "<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID><Article>"
            "<ArticleTitle>" + "<i>" * 1500 + "x" + "</i>" * 1500 + "</ArticleTitle>"
            "</Article></MedlineCitation></PubmedArticle></PubmedArticleSet>",
        ),
    ],
)
def test_pathologically_deep_nesting(tmp_path: Path, fmt: str, content: str) -> None:
    path = tmp_path / "deep"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(LoadError, match="nested too deeply"):
        FORMATS[fmt](path)


def test_unknown_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "image.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200))
    with pytest.raises(UnknownFormatError):
        detect_format(path)
    with pytest.raises(LoadError):
        FORMATS["text"](path)


# Arbitrary input, some of it dressed up with each format's opening so the fuzzing
# reaches past the first sanity check of every parser.
_PREFIXES = [
    "",
    "TY  - JOUR\nTI  - ",
    "PMID- 1\nTI  - ",
    "@article{k, title = {",
    '{"title": ',
    '[{"title": ',
    "<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID><Article><ArticleTitle>",
    "<article><front><article-meta>",
    "<html><body><h1>",
    "# Title\n\n",
    "%PDF-1.4\n",
]
_INPUTS = st.one_of(
    st.binary(max_size=600),
    st.tuples(st.sampled_from(_PREFIXES), st.text(max_size=400)).map(
        lambda pair: (pair[0] + pair[1]).encode("utf-8")
    ),
)


def _check_clean(result: LoadResult) -> None:
    assert isinstance(result, LoadResult)
    for citation in result.citations:
        assert isinstance(citation, Citation)
        assert citation.title.strip() or citation.body.strip()
        assert citation.id


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_arbitrary_input_gives_load_error_or_clean_result(
    tmp_path_factory: pytest.TempPathFactory, fmt: str
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "input"
    loader = FORMATS[fmt]

    @settings(max_examples=examples(50), deadline=None, database=None)
    @given(data=_INPUTS)
    def run(data: bytes) -> None:
        tally.count(f"fuzz inputs: loader {fmt}")
        path.write_bytes(data)
        try:
            result = loader(path)
        except LoadError:
            return
        _check_clean(result)

    run()


@settings(max_examples=examples(50), deadline=None, database=None)
@given(data=_INPUTS)
def test_arbitrary_input_through_auto_detection(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    tally.count("fuzz inputs: loader auto-detection")
    path = tmp_path_factory.mktemp("auto") / "input"
    path.write_bytes(data)
    try:
        result = load_file(path)
    except LoadError:
        return
    _check_clean(result)
