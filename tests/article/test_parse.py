"""Markdown round trip: ``parse_article_markdown(to_markdown(a), a)`` gives the draft back."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.article import render
from pipeline.article.parse import (
    normalize_draft_text,
    parse_article_markdown,
    read_markdown_file,
    unescape_markdown,
)
from pipeline.errors import EditError, PressError
from pipeline.models.article import (
    Article,
    Bullet,
    BulletCheck,
    Draft,
    DraftSection,
    Provenance,
    Reference,
)
from pipeline.models.corpus import Citation, EvidenceLevel
from pipeline.models.evidence import EvidenceSet
from pipeline.review.editing import edited_article
from pipeline.review.gate import unresolved_citations
from tests.article.test_render import make_article
from tests.support import tally
from tests.support.tally import examples


def roundtrip(article: Article) -> Draft:
    return parse_article_markdown(render.to_markdown(article), article)


def test_realistic_article_round_trips_exactly() -> None:
    article = make_article(status="under_review")
    article.draft.verdict = "maybe"
    assert roundtrip(article) == article.draft
    assert roundtrip(article).verdict == "maybe"


@pytest.mark.parametrize("status", ["draft", "changes_requested", "approved", "published"])
@pytest.mark.parametrize("audience", ["clinician", "patient"])
def test_round_trip_ignores_status_block_and_footer(status: str, audience: str) -> None:
    article = make_article(status=status, audience=audience)
    assert roundtrip(article) == article.draft


def test_insufficient_evidence_flag_is_kept_from_the_original() -> None:
    article = make_article(
        draft=Draft(headline="No answer", summary="", bottom_line="", insufficient_evidence=True),
        references=[],
        checks=[],
    )
    assert roundtrip(article) == article.draft


def test_edited_bullet_text_and_citations_come_back() -> None:
    article = make_article()
    markdown = render.to_markdown(article)
    edited = markdown.replace(
        "- Stiffness scores fell during IVIG. [1]",
        "- Stiffness scores fell *markedly* during IVIG & after it. [2, 1]",
    ).replace(
        "- Seronegative patients were rarely enrolled. [2]",
        "- Rarely enrolled:\n  seronegative patients. [1,2]",
    )
    draft = parse_article_markdown(edited, article)
    first, second = draft.sections[0].bullets[0], draft.sections[1].bullets[0]
    assert first == Bullet(
        text="Stiffness scores fell *markedly* during IVIG & after it.", citations=[2, 1]
    )
    assert second == Bullet(text="Rarely enrolled: seronegative patients.", citations=[1, 2])
    # The flag note on the second bullet of section 1 is dropped (checks regenerate it).
    assert draft.sections[0].bullets[1] == Bullet(
        text="Most responders stayed improved on maintenance.", citations=[1, 2]
    )


def test_hand_written_additions_are_read() -> None:
    article = make_article()
    markdown = render.to_markdown(article).replace(
        "## Bottom Line",
        "## New section\n\nA lead\nover two lines.\n\n"
        "* Starred bullet [1-2]\n+ Plus bullet [3] [1]\n\n## Bottom Line",
    )
    draft = parse_article_markdown(markdown, article)
    assert draft.sections[-1] == DraftSection(
        heading="New section",
        lead="A lead over two lines.",
        bullets=[
            Bullet(text="Starred bullet", citations=[1, 2]),
            Bullet(text="Plus bullet", citations=[3, 1]),
        ],
    )


def test_removed_related_questions_and_references_are_fine() -> None:
    article = make_article()
    markdown = render.to_markdown(article)
    cut = markdown[: markdown.index("## References")]
    draft = parse_article_markdown(cut, article)
    assert draft.related_questions == []
    assert draft.bottom_line == article.draft.bottom_line


def test_section_named_bottom_line_is_a_section() -> None:
    article = make_article()
    article.draft.sections[1].heading = "Bottom Line"
    article.draft.sections.append(DraftSection(heading="References", lead="x"))
    assert roundtrip(article) == article.draft


def test_flag_suffix_that_is_real_text_is_kept() -> None:
    article = make_article(checks=[])
    article.draft.sections[1].bullets[0] = Bullet(
        text=f"Odd ending {render.FLAG_NOTE} ⚠ low support"
    )
    assert roundtrip(article) == article.draft


@pytest.mark.parametrize(
    ("markdown", "line", "words"),
    [
        ("# Q\n\nJust a summary.\n\n## Section\n\n- bullet\n", 5, "no headline"),
        ("**H**\n\n- stray bullet [1]\n\n## Bottom Line\n\nB\n", 3, "bullet outside a section"),
        ("**H**\n\nS\n\n## A\n\n- one\n\nloose text\n\n## Bottom Line\n", 9, "after the bullets"),
        ("**H**\n\nS\n\n## A\n\n- one\n", 7, "Bottom Line"),
        ("**H**\n\n## Bottom Line\n\nB\n\n## Extra\n", 7, "after '## Bottom Line'"),
        ("**H**\n\n## Bottom Line\n\n- b\n", 5, "bullet in the Bottom Line"),
        ("**H**\n\n### Deep\n\n## Bottom Line\n", 3, "level-3 heading"),
        ("**H**\n\n## Bottom Line\n\nB\n\n## Related Questions\n\nnot a list\n", 9, "list item"),
    ],
)
def test_malformed_markdown_names_the_line(markdown: str, line: int, words: str) -> None:
    with pytest.raises(EditError) as info:
        parse_article_markdown(markdown, make_article())
    assert info.value.line == line
    assert f"line {line}:" in str(info.value)
    assert words in str(info.value)
    assert info.value.hint
    assert isinstance(info.value, PressError)


@pytest.mark.parametrize("markdown", ["", "   \n\n\t\n"])
def test_empty_file_is_an_error(markdown: str) -> None:
    with pytest.raises(EditError, match="empty"):
        parse_article_markdown(markdown, make_article())


def test_huge_citation_number_is_an_error_not_a_crash() -> None:
    markdown = "**H**\n\n## A\n\n- x [" + "9" * 5000 + "]\n\n## Bottom Line\n"
    with pytest.raises(EditError, match="line 5"):
        parse_article_markdown(markdown, make_article())


@pytest.mark.parametrize(
    "text",
    ["a <b> & c", r"*x* _y_ `z` [l](u) # ~s~ \ \\", "1. x", "- x", "&amp; &lt;", "+=", "&#10;"],
)
def test_unescape_inverts_escape(text: str) -> None:
    assert unescape_markdown(render.escape_markdown(text)) == text


# ---------------------------------------------------------------- hypothesis properties

TEXT = st.text(max_size=40)
SPICY = st.text(alphabet=st.sampled_from(list("*_[]#<>&\\`~-+=.)1 ⚠aé\n\t&;lt")), max_size=25)
ANY_TEXT = st.one_of(TEXT, SPICY, st.sampled_from(["", " ", render.FLAG_NOTE, "⚠ low support"]))
NUMBERS = st.lists(st.integers(min_value=-5, max_value=10**9), max_size=4)


@st.composite
def articles(draw: st.DrawFn) -> Article:
    sections = draw(
        st.lists(
            st.builds(
                DraftSection,
                heading=ANY_TEXT,
                lead=st.none() | ANY_TEXT,
                bullets=st.lists(st.builds(Bullet, text=ANY_TEXT, citations=NUMBERS), max_size=3),
            ),
            max_size=3,
        )
    )
    checks = [
        BulletCheck(section=s, bullet=b, flagged=draw(st.booleans()))
        for s, section in enumerate(sections)
        for b in range(len(section.bullets))
    ]
    draft = Draft(
        headline=draw(ANY_TEXT),
        summary=draw(ANY_TEXT),
        sections=sections,
        bottom_line=draw(ANY_TEXT),
        related_questions=draw(st.lists(ANY_TEXT, max_size=3)),
        insufficient_evidence=draw(st.booleans()),
        verdict=draw(st.sampled_from([None, "yes", "no", "maybe", "uncertain"])),
    )
    citation = Citation(id="pmid:1", title=draw(ANY_TEXT))
    fields: dict[str, Any] = {
        "slug": "a",
        "question": draw(ANY_TEXT),
        "audience": draw(st.sampled_from(["clinician", "patient"])),
        "draft": draft,
        "references": [
            Reference(
                number=1,
                citation_id=citation.id,
                citation=citation,
                text=draw(ANY_TEXT),
                evidence_level=EvidenceLevel.RCT,
                url=draw(st.none() | st.just("https://example.org/a b") | ANY_TEXT),
            )
        ],
        "checks": checks,
        "status": draw(st.sampled_from(["draft", "submitted", "approved", "published", "x"])),
        "last_updated": draw(st.dates()).isoformat(),
        "provenance": Provenance(
            drafter=draw(st.sampled_from(["llm", "extractive"])),
            model=draw(st.none() | ANY_TEXT),
            corpus_version=draw(ANY_TEXT),
        ),
    }
    return Article(**fields)


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(articles())
def test_round_trip_is_lossless_for_any_article(article: Article) -> None:
    tally.count("fuzz inputs: edit round trip")
    assert roundtrip(article) == normalize_draft_text(article.draft)


@settings(max_examples=examples(150), deadline=None)
@given(st.text(max_size=300) | SPICY.map(lambda s: s * 5))
def test_arbitrary_text_gives_a_draft_or_an_edit_error(markdown: str) -> None:
    tally.count("fuzz inputs: edit arbitrary markdown")
    try:
        draft = parse_article_markdown(markdown, make_article())
    except EditError as error:
        assert error.hint
    else:
        assert isinstance(draft, Draft)


@settings(max_examples=examples(100), deadline=None)
@given(articles(), st.data())
def test_damaged_markdown_gives_a_draft_or_an_edit_error(
    article: Article, data: st.DataObject
) -> None:
    tally.count("fuzz inputs: edit damaged markdown")
    lines = render.to_markdown(article).split("\n")
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(lines)))
        if data.draw(st.booleans()) and at < len(lines):
            del lines[at]
        else:
            lines.insert(
                at, data.draw(st.sampled_from(["- x [1]", "## H", "**B**", "text", "---", ""]))
            )
    with contextlib.suppress(EditError):
        parse_article_markdown("\n".join(lines), article)


def _fake_embed(texts: list[str]) -> np.ndarray:
    """Deterministic unit vectors from the text's bytes (no model needed)."""
    rows = [np.frombuffer((t.encode() + bytes(16))[:16], dtype=np.uint8) for t in texts]
    vectors = np.asarray(rows, dtype=np.float32).reshape(len(texts), 16) + 1.0
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@settings(max_examples=examples(60), deadline=None)
@given(articles(), st.data())
def test_the_whole_edit_path_gives_an_article_or_a_press_error(
    article: Article, data: st.DataObject
) -> None:
    """What `press edit --from FILE` does after reading: parse, then check citations again."""
    tally.count("fuzz inputs: edit path (parse + citation check)")
    lines = render.to_markdown(article).split("\n")
    for _ in range(data.draw(st.integers(0, 3))):
        at = data.draw(st.integers(0, len(lines)))
        lines.insert(at, data.draw(st.sampled_from(["- new [1, 99]", "- x [0]", "## H", "- y"])))
    try:
        draft = parse_article_markdown("\n".join(lines), article)
        edited, _ = edited_article(
            article, draft, EvidenceSet(question="q"), support_threshold=0.35, embed=_fake_embed
        )
    except PressError as error:
        assert error.hint
        return
    assert unresolved_citations(edited) == []


@settings(max_examples=examples(60), deadline=None, database=None)
@given(st.binary(max_size=400))
def test_any_edit_file_gives_text_or_an_edit_error(
    tmp_path_factory: pytest.TempPathFactory, raw: bytes
) -> None:
    tally.count("fuzz inputs: edit file bytes")
    path = tmp_path_factory.mktemp("edit") / "article.md"
    path.write_bytes(raw)
    try:
        text = read_markdown_file(path)
    except EditError as error:
        assert error.hint
        return
    assert text.encode("utf-8") == raw
