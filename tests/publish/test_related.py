"""pipeline.publish.related: related questions by embeddings, or by word overlap without."""

from __future__ import annotations

from pathlib import Path

from pipeline.publish.site import build_site
from tests.article.test_render import by_class
from tests.support.site_entries import entries, links, page


def test_related_questions_link_nearest_other_articles_first(site: Path) -> None:
    tree = page(site / "articles" / "ivig-sps.html")
    related = links(tree, "related-links")
    assert related[0] == "sps-first-line.html"  # the other stiff-person question
    assert "ivig-sps.html" not in related and "ivig-sps-patient.html" not in related
    assert len(related) == 4  # five questions in all: itself (and its twin) excluded
    aspirin = links(page(site / "articles" / "aspirin-over-70.html"), "related-links")
    assert aspirin[0] == "statins-older-adults.html"
    assert "ivig-sps.html" in aspirin and "ivig-sps-patient.html" not in aspirin
    # The patient page links the other questions' versions in its own audience when they exist.
    assert links(page(site / "articles" / "ivig-sps-patient.html"), "related-links")[0] == (
        "sps-first-line.html"
    )
    section = by_class(tree, "section", "related")[0]
    assert [h.text_content() for h in section.iter("h2")] == ["Related Questions"]
    plain = by_class(section, "ul", "related-plain")[0]
    assert [li.text_content() for li in plain.iter("li")] == ["How is the response monitored?"]
    assert list(plain.iter("a")) == []
    assert [h.text_content() for h in tree.iter("h2")].count("Related Questions") == 1


def test_related_questions_without_embeddings_use_word_overlap(tmp_path: Path) -> None:
    build_site(entries(), tmp_path / "site")
    related = links(page(tmp_path / "site" / "articles" / "ivig-sps.html"), "related-links")
    assert related == ["sps-first-line.html"]  # the only question sharing content words
    assert not by_class(
        page(tmp_path / "site" / "articles" / "metformin-pregnancy.html"), "ul", "related-links"
    )
