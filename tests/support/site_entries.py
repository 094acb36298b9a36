"""Published-site fixtures shared by tests/publish/, tests/reliability/ and tests/security/.

Six realistic approved entries (five questions, one in both audiences, three topics with one
missing), the page/link readers the site tests use, and a byte snapshot of a built folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lxml.etree
import lxml.html
from lxml.html import HtmlElement

from pipeline.models.article import (
    Article,
    Bullet,
    Draft,
    DraftSection,
    Provenance,
    Reference,
    SiteEntry,
)
from pipeline.models.corpus import Citation, EvidenceLevel
from tests.article.test_render import by_class

ATOM = "{http://www.w3.org/2005/Atom}"


SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


NS = {"a": "http://www.w3.org/2005/Atom"}


IVIG = "Does intravenous immunoglobulin reduce stiffness in stiff-person syndrome?"


SPS_FIRST_LINE = "What is the first-line drug treatment for stiff-person syndrome?"


ASPIRIN = "Does daily aspirin prevent a first heart attack in adults over 70?"


STATINS = "Should statins be started for primary prevention of heart attack in older adults?"


METFORMIN = "Is metformin safe for treating gestational diabetes in pregnancy?"


def article(slug: str, question: str, **overrides: Any) -> Article:
    """A realistic published article: two sections, cited bullets, two references."""
    citations = [
        Citation(id=f"pmid:{n}{len(slug)}", title=f"{question[:40]} study {n}", year=2019 + n)
        for n in (1, 2)
    ]
    fields: dict[str, Any] = {
        "slug": slug,
        "question": question,
        "draft": Draft(
            headline=f"Verdict on: {question}",
            summary="Two studies address the question; the evidence is moderate.",
            sections=[
                DraftSection(
                    heading="What the trials show",
                    lead="The best evidence comes from one trial.",
                    bullets=[
                        Bullet(text="Outcomes improved in the treated group.", citations=[1]),
                        Bullet(text="Effects persisted at one year.", citations=[1, 2]),
                    ],
                ),
                DraftSection(
                    heading="Limits", bullets=[Bullet(text="Samples were small.", citations=[2])]
                ),
            ],
            bottom_line="Consider it case by case.",
            related_questions=["How is the response monitored?"],
            verdict="maybe",
        ),
        "references": [
            Reference(
                number=n,
                citation_id=c.id,
                citation=c,
                text=f"Author A. {c.title}. J Med. {c.year}.",
                evidence_level=EvidenceLevel.RCT,
                url=f"https://pubmed.ncbi.nlm.nih.gov/{c.id[5:]}/",
            )
            for n, c in enumerate(citations, start=1)
        ],
        "status": "published",
        "last_updated": "2025-06-01",
        "provenance": Provenance(drafter="llm", model="gpt-4o-mini", corpus_version="c0ffee"),
    }
    fields.update(overrides)
    return Article(**fields)


def entry(slug: str, question: str, day: int, *, topic: str | None = None, **kw: Any) -> SiteEntry:
    reviewers = kw.pop("reviewed_by", ["Dr Ada Lovelace", "Dr Grace Hopper"])
    return SiteEntry(
        article=article(slug, question, **kw),
        revision_id=f"rev-{slug}",
        content_hash=f"hash-{slug}",
        approved_at=f"2026-01-{day:02d}T09:30:00+00:00",
        reviewed_by=reviewers,
        published_at=f"2026-01-{day:02d}T10:00:00+00:00",
        topic=topic,
    )


def entries() -> list[SiteEntry]:
    """Five questions, one of them in both audiences; three topics (one missing)."""
    return [
        entry("ivig-sps", IVIG, 5, topic="Neurology"),
        entry("ivig-sps-patient", IVIG, 6, topic="Neurology", audience="patient"),
        entry("sps-first-line", SPS_FIRST_LINE, 3, topic="Neurology"),
        entry("aspirin-over-70", ASPIRIN, 7, topic="Cardiology"),
        entry("statins-older-adults", STATINS, 2, topic="Cardiology"),
        entry("metformin-pregnancy", METFORMIN, 4),
    ]


def page(path: Path) -> HtmlElement:
    tree = lxml.html.document_fromstring(path.read_text("utf-8"))
    assert isinstance(tree, HtmlElement)
    return tree


def links(tree: HtmlElement, cls: str) -> list[str]:
    return [a.get("href", "") for ul in by_class(tree, "ul", cls) for a in ul.iter("a")]


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }
