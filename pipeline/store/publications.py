"""What readers may see: site entries for live publications, and which of them went stale.

:func:`site_entries` is the only bridge from the store to the static site. It starts from
each article's live publication and re-verifies it instead of trusting the status column:
the revision's text must still hash to its stored content hash, that hash must equal the
published hash, and the publication must rest on an approval log row for that same revision
and hash, by someone other than its author. An entry failing any check is left out and
reported, so the site can never show a revision that was not approved as it stands.

:func:`stale_articles` compares the passages an approved revision cites (every passage of
every evidence item its references name) with the current passage DB. Passage ids hash
the citation id and the passage text, so changed text shows up as a vanished id; a passage
whose citation metadata changed (a correction, a retraction notice) is reported too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.models.article import Article, SiteEntry
from pipeline.store.content import content_hash
from pipeline.store.db import Store
from pipeline.store.records import ArticleRecord, Publication, RevisionRecord
from pipeline.store.timestamps import iso

APPROVE = "review.approve"
PassageLookup = Callable[[Iterable[str]], Mapping[str, Any]]
"""``ids → {id: PassageRow}`` (e.g. ``Index(settings).passage_db.get``); unknown ids left out."""


@dataclass(frozen=True)
class LivePublication:
    """A verified live publication: the article row, its revision and the publication."""

    article: ArticleRecord
    revision: RevisionRecord
    publication: Publication


@dataclass(frozen=True)
class StaleArticle:
    """A published article whose cited evidence changed since it was approved."""

    slug: str
    revision: str
    vanished: list[str]
    changed: list[str]


def live_publications(store: Store) -> tuple[list[LivePublication], list[str]]:
    """Every live publication that passes verification, and a problem line for each other."""
    by_revision = {p.revision_id: p for p in store.publications() if p.retract is None}
    live: list[LivePublication] = []
    problems: list[str] = []
    for article in store.articles():
        revision_id = article.state.published_revision_id
        if revision_id is None:
            continue
        revision = store.revision(revision_id)
        publication = by_revision.get(revision_id)
        problem = _problem(article, revision, publication)
        if problem is not None or publication is None:
            problems.append(f"{article.slug} {revision.label}: {problem} — left off the site")
            continue
        live.append(LivePublication(article, revision, publication))
    return live, problems


def site_entries(store: Store) -> tuple[list[SiteEntry], list[str]]:
    """:class:`SiteEntry` for every verified live publication, and the problems found."""
    live, problems = live_publications(store)
    entries = []
    for item in live:
        article = item.revision.article().model_copy(
            update={"status": "published", "slug": item.article.slug}
        )
        entries.append(
            SiteEntry(
                article=article,
                revision_id=f"{item.article.slug}@{item.revision.label}",
                content_hash=item.revision.content_hash,
                approved_at=iso(item.publication.approval.created_at),
                reviewed_by=[item.publication.approval.actor],
                verdict_by=verdict_author(store, item.article, item.revision),
                published_at=iso(item.publication.publish.created_at),
                topic=_topic(article),
            )
        )
    return entries, problems


def verdict_author(store: Store, article: ArticleRecord, revision: RevisionRecord) -> str:
    """Who wrote the verdict (headline and Bottom Line) of ``revision``: the author of the
    earliest revision from which it stands unchanged; when that revision was drafted (not
    edited), the drafter too, e.g. "a language model (gpt-4o-mini) run by ann"."""

    def verdict(r: RevisionRecord) -> tuple[str, str]:
        draft = r.article().draft
        return " ".join(draft.headline.split()), " ".join(draft.bottom_line.split())

    chain = [r for r in store.revisions(article) if r.number <= revision.number]
    origin = revision
    for earlier in reversed(chain[:-1]):
        if verdict(earlier) != verdict(revision):
            break
        origin = earlier
    drafted = {
        e.revision_id
        for e in store.log(article)
        if e.action == "review.draft" and not (e.comment or "").startswith("edited")
    }
    if origin.id in drafted and origin.drafter == "llm":
        return f"a language model ({origin.model or 'unnamed'}) run by {origin.author}"
    return origin.author


def stale_articles(store: Store, lookup: PassageLookup) -> list[StaleArticle]:
    """Published articles whose cited passages vanished or whose citations changed."""
    stale = []
    for item in live_publications(store)[0]:
        article = item.revision.article()
        cited = {ref.citation_id for ref in article.references}
        passages = {
            scored.passage.id: scored.citation
            for evidence in item.revision.evidence().items
            if evidence.citation.id in cited
            for scored in evidence.passages
        }
        current = lookup(list(passages))
        vanished = sorted(pid for pid in passages if pid not in current)
        changed = sorted(
            pid
            for pid, citation in passages.items()
            if pid in current and _bibliographic(current[pid].citation) != _bibliographic(citation)
        )
        if vanished or changed:
            stale.append(StaleArticle(item.article.slug, item.revision.label, vanished, changed))
    return stale


def _problem(
    article: ArticleRecord, revision: RevisionRecord, publication: Publication | None
) -> str | None:
    if content_hash(revision.article()) != revision.content_hash:
        return "stored text does not match its content hash"
    if revision.content_hash != article.state.published_hash:
        return "published hash differs from the revision's hash"
    if publication is None:
        return "no live publication record"
    approval = publication.approval
    if (
        approval.action != APPROVE
        or approval.revision_id != revision.id
        or approval.content_hash != revision.content_hash
        or publication.content_hash != revision.content_hash
    ):
        return "the publication does not rest on an approval of this exact text"
    if approval.actor == revision.author:
        return "approved by its own author"
    return None


def _bibliographic(citation: Any) -> dict[str, Any]:
    """A citation's metadata without where it was read from."""
    data: dict[str, Any] = citation.model_dump(mode="json", exclude={"source_file", "ingested_at"})
    return data


def _topic(article: Article) -> str | None:
    """The most common corpus topic among the article's references, for the index page."""
    topics = Counter(r.citation.topic for r in article.references if r.citation.topic)
    if not topics:
        return None
    return topics.most_common(1)[0][0].replace("_", " ").capitalize()
