"""The publish gate: what must be settled in a revision before it may be approved or published.

A revision is *unfinished* while it still has

* a **placeholder** the drafter recorded (``Provenance.placeholders``: field name → the text
  it wrote there because only an editor can, such as the extractive drafter's headline
  "… Verdict Requires Editorial Judgment" and its Bottom Line "Before publication a reviewer
  must decide the answer …"). The field stays a placeholder while its text is still the
  recorded one; an edit that rewrites it settles it. Detection is structural: the drafter
  says which fields it could not write, nothing here matches wording.
* a **flagged check** (any ``Article.checks`` entry with ``flagged=True``: low support, no
  citation, and whatever other checks the citation check adds) that no reviewer has
  acknowledged with a reason on this revision. Editing the text re-runs the check, so a
  flag that is edited away is gone from the new revision.

:func:`open_items` lists what is unfinished; the workflow refuses ``approve`` and
``publish`` while the list is not empty (:func:`gate_refusal` says what and how to settle it).
Publishing also needs :func:`verified_approval`: the stored text re-hashed, every citation
number resolved, and an approval of exactly that text.
Acknowledgements are workflow actions (``review.acknowledge``), logged like any other.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.cite.markers import extract_markers
from pipeline.errors import InvalidTransition, StoreError
from pipeline.models.article import FIELD_LABELS, Article, BulletCheck
from pipeline.review.machine import Action
from pipeline.store.content import content_hash
from pipeline.store.db import Store
from pipeline.store.records import ArticleRecord, LogEntry, RevisionRecord

DeskItem = tuple[int | None, str, str, str, str | None]
"""(check index or ``None`` for a placeholder, where, text, reason, who acknowledged it)."""

FIELD_NAMES = {"headline": "verdict headline", "summary": "summary", "bottom_line": "Bottom Line"}
"""Reader-facing names of the draft fields a drafter may leave as placeholders."""


@dataclass(frozen=True)
class OpenItem:
    """One unfinished thing in a revision: a placeholder field or an unresolved check."""

    kind: str
    """``placeholder`` or ``check``."""
    key: str
    """The field name (``bottom_line``) or the check's index in ``Article.checks``."""
    where: str
    """Where a reader finds it: "the Bottom Line", "Evidence, bullet 2"."""
    text: str
    """The text concerned."""
    reason: str
    """Why it is open: "drafter's placeholder", "support 0.21 below 0.35"."""


def _norm(text: str) -> str:
    return " ".join(text.split())


def placeholder_fields(article: Article) -> list[str]:
    """Draft fields whose text is still the drafter's recorded placeholder."""
    draft = article.draft.model_dump()
    return [
        name
        for name, placeholder in article.provenance.placeholders.items()
        if isinstance(draft.get(name), str) and _norm(draft[name]) == _norm(placeholder)
    ]


def describe_check(article: Article, check: BulletCheck) -> tuple[str, str]:
    """(where, text) of the sentence a check is about, whatever kind of check it is."""
    if not check.is_bullet:
        return FIELD_LABELS[check.field], check.text
    sections = article.draft.sections
    if 0 <= check.section < len(sections) and 0 <= check.bullet < len(
        sections[check.section].bullets
    ):
        section = sections[check.section]
        return (
            f"{section.heading}, bullet {check.bullet + 1}",
            section.bullets[check.bullet].text,
        )
    return f"check {check.section}.{check.bullet}", ""


def open_items(article: Article, acknowledged: set[int]) -> list[OpenItem]:
    """Everything unfinished in ``article`` (``acknowledged``: indexes of settled checks)."""
    items = [
        OpenItem(
            "placeholder",
            name,
            f"the {FIELD_NAMES.get(name, name)}",
            getattr(article.draft, name, ""),
            "the drafter's placeholder",
        )
        for name in placeholder_fields(article)
    ]
    for index, check in enumerate(article.checks):
        if check.flagged and index not in acknowledged:
            where, text = describe_check(article, check)
            items.append(OpenItem("check", str(index), where, text, check.reason or "flagged"))
    return items


def gate_refusal(verb: str, slug: str, label: str, items: list[OpenItem]) -> InvalidTransition:
    """The refusal of ``verb`` (approve, publish) while ``items`` are open, with what to do."""
    placeholders = [i.where for i in items if i.kind == "placeholder"]
    checks = [i for i in items if i.kind == "check"]
    parts = []
    if placeholders:
        parts.append("the drafter's placeholder text is still in " + ", ".join(placeholders))
    if checks:
        # The check's number is what `press acknowledge --check N` takes.
        listed = "; ".join(f"check {i.key}: {i.where} ({i.reason})" for i in checks[:5])
        more = f" and {len(checks) - 5} more" if len(checks) > 5 else ""
        parts.append(f"{len(checks)} flagged check(s) are unresolved: {listed}{more}")
    todo = []
    if placeholders:
        todo.append("write the verdict and Bottom Line (edit the article; it is a new revision)")
    if checks:
        todo.append(
            "edit the flagged sentences away, or have a reviewer acknowledge each one with a "
            "reason (`press acknowledge SLUG --check N --reason …`, or the desk's "
            "“Bullets to check” list)"
        )
    return InvalidTransition(
        f"cannot {verb} {slug!r} {label}: " + "; ".join(parts),
        "Before approval: " + "; ".join(todo) + ".",
    )


def unresolved_citations(article: Article) -> list[int]:
    """Citation numbers in the article (bullet lists or ``[n]`` in its text) with no reference.

    Drafting and editing run the citation check, which removes such numbers; a revision that
    still has one was stored around the check and must not reach readers.
    """
    draft = article.draft
    texts = [draft.headline, draft.summary, draft.bottom_line]
    numbers: set[int] = set()
    for section in draft.sections:
        texts += [section.heading, section.lead or ""]
        for bullet in section.bullets:
            texts.append(bullet.text)
            numbers.update(bullet.citations)
    numbers.update(n for text in texts for n in extract_markers(text))
    return sorted(numbers - {reference.number for reference in article.references})


def gate(
    store: Store, action: Action, slug: str, current: RevisionRecord, check: int | None
) -> str:
    """Refuse approve/publish of an unfinished revision; for acknowledge, refuse unless
    ``check`` names an open flag, and return "where: text" of it (else "")."""
    if action not in (Action.APPROVE, Action.PUBLISH, Action.ACKNOWLEDGE):
        return ""
    items = open_items(current.article(), set(store.acknowledgements(current.id)))
    if action is Action.ACKNOWLEDGE:
        flags = {int(i.key): i for i in items if i.kind == "check"}
        if check not in flags:
            numbers = ", ".join(str(n) for n in flags) or "none"
            raise InvalidTransition(
                f"cannot acknowledge check {check} of {slug!r} {current.label}: "
                "it is not an open flagged check",
                f"Open flagged checks: {numbers}.",
            )
        return f"{flags[check].where}: {flags[check].text}"
    if items:
        raise gate_refusal(action.label, slug, current.label, items)
    return ""


def desk_items(store: Store, current: RevisionRecord) -> list[DeskItem]:
    """The open items of ``current`` and the checks reviewers acknowledged on it (with the
    reason and who), for the review desk."""
    article = current.article()
    acknowledged = store.acknowledgements(current.id)
    rows: list[DeskItem] = [
        (None if i.kind == "placeholder" else int(i.key), i.where, i.text, i.reason, None)
        for i in open_items(article, set(acknowledged))
    ]
    for index, entry in sorted(acknowledged.items()):
        if index < len(article.checks):
            reason = f"{article.checks[index].reason}; acknowledged: {entry.comment}"
            rows.append((index, "", "", reason, entry.actor))
    return rows


def verified_approval(store: Store, article: ArticleRecord, revision: RevisionRecord) -> LogEntry:
    """The approval log row behind publishing ``revision``, after re-hashing its text.

    Refuses (:class:`~pipeline.errors.StoreError`) a revision whose stored text no longer
    matches its content hash, and (:class:`InvalidTransition`) one that cites a number no
    reference resolves or has no approval of exactly this text.
    """
    if content_hash(revision.article()) != revision.content_hash:
        raise StoreError(
            f"Revision {revision.label} of {article.slug!r} does not match its content hash",
            "The stored text was altered outside the workflow; do not publish it.",
        )
    unresolved = unresolved_citations(revision.article())
    if unresolved:
        numbers = ", ".join(f"[{n}]" for n in unresolved)
        raise InvalidTransition(
            f"cannot publish {article.slug!r}: {revision.label} cites {numbers}, "
            "which no reference resolves",
            f"Edit it (`press edit {article.slug}`): an edit is checked again and removes "
            "numbers that point nowhere; then review and approve it again.",
        )
    approvals = [
        e
        for e in store.log(article)
        if e.action == Action.APPROVE
        and e.revision_id == revision.id
        and e.content_hash == revision.content_hash == article.state.approved_hash
    ]
    if not approvals:
        raise InvalidTransition(f"cannot publish {article.slug!r}: no matching approval")
    return approvals[-1]
