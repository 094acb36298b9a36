"""End to end in a real browser: a draft goes from the author's question to the static site.

The real ``press serve`` runs on the demo corpus in a subprocess; headless Chromium clicks
through the desk as its users would: the author drafts the README's reference question and
submits it; the reviewer reads the evidence behind citation 1 and sends the draft back
(a comment is required); the author edits and resubmits; the reviewer approves; the
publisher publishes, and the page appears in the static site with its Approved badge.
Controls are found by their labels and roles, so the accessible names are checked too.
A full-page screenshot of every step is saved (see :func:`tests.e2e.conftest.artifacts_dir`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pipeline.models.article import Article
from pipeline.models.evidence import EvidenceSet
from pipeline.settings.load import load_settings
from pipeline.store.db import Store
from tests.e2e.conftest import PASSWORD, DeskServer
from tests.support.demo_index import REFERENCE_QUESTION

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e
expect = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed (dev extra)"
).expect

WAIT_MS = 60_000
"""Timeout of every wait on a page (the machine may be loaded)."""
DRAFT_WAIT_MS = 240_000
"""Timeout for the background drafting job (the first one loads the embedding model)."""
VERDICT = (
    "For seronegative stiff-person syndrome that responded to IVIG after benzodiazepines "
    "and gabapentin failed, continued IVIG is supported by guideline criteria; reassess "
    "the benefit at six months."
)
HEADLINE = "Yes: continued IVIG is supported when it helped after first-line drugs failed."
SUMMARY = (
    "Guideline criteria support IVIG for stiff-person syndrome that did not respond to "
    "benzodiazepines and gabapentin; seronegative disease is covered when IVIG helped."
)
REVIEW_COMMENT = "Please write the verdict in the Bottom Line: the draft leaves it open."


class Shots:
    """Numbered full-page screenshots: ``01-login-author.png``, ``02-new-draft.png`` …"""

    def __init__(self, page: Page, folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.taken = 0

    def __call__(self, name: str) -> Path:
        """Save the page as the next numbered screenshot."""
        self.taken += 1
        path = self.folder / f"{self.taken:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def expected_source_1(slug: str) -> tuple[str, str, str, list[str]]:
    """Title, reference text, evidence level and cited passage texts of citation 1, read
    from the stored revision (what the panel must show)."""
    store = Store.from_settings(load_settings())
    try:
        revision = store.revision(store.article(slug).state.revision_id)
        article: Article = revision.article()
        evidence: EvidenceSet = revision.evidence()
    finally:
        store.close()
    ref = next(r for r in article.references if r.number == 1)
    cited_ids = {pid for check in article.checks if 1 in check.numbers for pid in check.passage_ids}
    item = next(i for i in evidence.items if i.citation.id == ref.citation_id)
    cited = [p.passage.text for p in item.passages if p.passage.id in cited_ids]
    return ref.citation.title, ref.text, ref.evidence_level.label, cited


def test_draft_review_and_publish_in_a_browser(
    browser: Browser, desk_server: DeskServer, artifacts: Path
) -> None:
    context = browser.new_context(base_url=desk_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    context.set_default_navigation_timeout(WAIT_MS)
    page = context.new_page()
    shot = Shots(page, artifacts)
    try:
        slug = _author_drafts_and_submits(page, shot)
        _reviewer_checks_evidence_and_requests_changes(page, shot, slug)
        _author_edits_and_resubmits(page, shot, slug)
        _reviewer_approves(page, shot, slug)
        _publisher_publishes(page, shot, slug)
        _site_shows_the_approved_page(page, shot, desk_server.outputs, slug)
    except BaseException as exc:
        try:
            page.screenshot(path=str(artifacts / "99-failure.png"), full_page=True)
        except Exception as shot_error:  # the browser itself may be what failed
            exc.add_note(f"(no failure screenshot: {shot_error})")
        exc.add_note(f"Screenshots of the steps: {artifacts}")
        exc.add_note(f"Page at failure: {page.url}")
        exc.add_note(f"press serve log (last lines):\n{desk_server.log_tail()}")
        print(f"e2e screenshots: {artifacts}")
        raise
    finally:
        context.close()


def _sign_in(page: Page, shot: Shots, name: str, screenshot: str | None = None) -> None:
    page.goto("/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    if screenshot:
        shot(screenshot)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/queue$"))
    expect(page.get_by_test_id("current-user")).to_have_text(name)


def _sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def _open_article(page: Page, slug: str) -> None:
    """From the queue, follow the article's link in the list of all articles."""
    row = page.locator(f'#articles-table tr[data-slug="{slug}"]')
    row.get_by_role("link", name=REFERENCE_QUESTION).click()
    page.wait_for_url(re.compile(rf"/articles/{slug}$"))
    expect(page.get_by_role("heading", name="Evidence", exact=True)).to_be_visible()


def _act(page: Page, slug: str, button: str, status: str) -> None:
    """Click an action button and wait for the article page to show the new status."""
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_url(re.compile(rf"/articles/{slug}$"))
    expect(page.locator("#flash")).to_contain_text("Done:")
    expect(page.get_by_test_id("status-badge")).to_have_text(status)


def _author_drafts_and_submits(page: Page, shot: Shots) -> str:
    _sign_in(page, shot, "ann", "login-author")
    page.get_by_role("link", name="New draft").click()
    page.get_by_label("Clinical question").fill(REFERENCE_QUESTION)
    page.get_by_label("Audience").select_option("clinician")
    shot("new-draft")
    page.get_by_role("button", name="Start drafting").click()
    page.wait_for_url(re.compile(r"/(jobs|articles)/"))
    if "/jobs/" in page.url:  # the job page refreshes itself until the draft is stored
        expect(page.get_by_role("heading", name="Drafting")).to_be_visible()
        expect(page.get_by_label("Progress")).to_be_visible()
        shot("draft-progress")
    page.wait_for_url(re.compile(r"/articles/[a-z0-9-]+$"), timeout=DRAFT_WAIT_MS)
    slug = page.url.rsplit("/", 1)[1]
    body = page.get_by_role("article", name="Article")
    expect(body.get_by_role("heading", name=REFERENCE_QUESTION)).to_be_visible()
    expect(page.get_by_test_id("status-badge")).to_have_text("draft")
    expect(page.get_by_test_id("evidence-1")).to_be_visible()
    shot("draft-ready")
    _act(page, slug, "Submit", "submitted")
    shot("submitted")
    _sign_out(page)
    return slug


def _reviewer_checks_evidence_and_requests_changes(page: Page, shot: Shots, slug: str) -> None:
    title, reference, level, cited = expected_source_1(slug)
    assert cited, "the stored check of citation 1 rests on no passage"
    _sign_in(page, shot, "rex", "login-reviewer")
    expect(page.locator("#waiting-list")).to_contain_text(slug)
    _open_article(page, slug)
    _act(page, slug, "Start review", "under review")
    # The drafter's placeholder verdict is workflow state beside the article, not its text,
    # and it holds approval back with a reason phrased for the browser.
    expect(page.get_by_test_id("state-placeholders")).to_contain_text("editorial judgment")
    expect(page.get_by_role("article", name="Article")).not_to_contain_text(
        "verdict needs editorial judgment"
    )
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_role("heading", name="Conflict")).to_be_visible()
    expect(page.locator("#error-message")).to_contain_text("placeholder")
    expect(page.locator("#error-hint")).not_to_contain_text("press ")
    shot("approve-refused-placeholder")
    page.goto(f"/articles/{slug}")

    body = page.get_by_role("article", name="Article")
    panel = page.get_by_role("complementary", name="Evidence")
    source_1 = panel.get_by_test_id("evidence-1")
    # The panel opens on citation 1: show the last one first, so that showing citation 1
    # again is the click's doing.
    last = str(panel.locator("section.evidence-item").count())
    if last != "1":
        body.get_by_role("link", name=re.compile(rf"^Evidence {last}: ")).first.click()
        expect(panel.get_by_test_id(f"evidence-{last}")).to_be_visible()
        expect(source_1).to_be_hidden()
    body.get_by_role("link", name=re.compile(r"^Evidence 1: ")).first.click()
    expect(source_1).to_be_visible()
    expect(panel.locator("section.evidence-item:visible")).to_have_count(1)
    expect(source_1).to_be_focused()
    assert page.url.endswith("#evidence-1"), page.url
    expect(source_1.get_by_role("heading", level=3)).to_contain_text(title or reference)
    expect(source_1.get_by_test_id("evidence-level-1")).to_have_text(level)
    expect(source_1).to_contain_text(reference)
    passages = source_1.locator("blockquote.passage-cited")
    expect(passages).to_have_count(len(cited))
    for text in cited:
        expect(passages.filter(has_text=" ".join(text.split())[:200])).to_have_count(1)
    shot("evidence-panel")

    # Without a comment the browser refuses to send the form (the field is required) …
    comment = page.get_by_label("What should change? (required)")
    page.get_by_role("button", name="Request changes").click()
    assert comment.evaluate("field => field.validity.valueMissing") is True
    expect(page).to_have_url(re.compile(rf"/articles/{slug}(#evidence-1)?$"))
    # … and the desk refuses it too when the browser check is bypassed.
    comment.evaluate("field => field.removeAttribute('required')")
    comment.fill("   ")
    page.get_by_role("button", name="Request changes").click()
    page.wait_for_url(re.compile(rf"/articles/{slug}/actions/request-changes$"))
    expect(page.get_by_role("heading", name="Refused")).to_be_visible()
    expect(page.get_by_text("without a comment")).to_be_visible()
    shot("comment-required")

    page.goto(f"/articles/{slug}")
    expect(page.get_by_test_id("status-badge")).to_have_text("under review")
    page.get_by_label("What should change? (required)").fill(REVIEW_COMMENT)
    _act(page, slug, "Request changes", "changes requested")
    expect(page.locator("#comments")).to_contain_text(REVIEW_COMMENT)
    shot("changes-requested")
    _sign_out(page)


def _author_edits_and_resubmits(page: Page, shot: Shots, slug: str) -> None:
    _sign_in(page, shot, "ann")
    _open_article(page, slug)
    expect(page.locator("#comments")).to_contain_text(REVIEW_COMMENT)
    page.get_by_role("link", name="Edit the Markdown").click()
    page.wait_for_url(re.compile(rf"/articles/{slug}/edit$"))
    editor = page.get_by_label("Article Markdown")
    markdown = editor.input_value()
    edited, replaced = re.subn(
        r"(## Bottom Line\n\n)(.+?)(\n\n## )",
        lambda m: m[1] + VERDICT + m[3],
        markdown,
        count=1,
        flags=re.S,
    )
    assert replaced == 1, f"no Bottom Line paragraph in the editor:\n{markdown[:2000]}"
    # the verdict headline and the summary are the drafter's placeholders too
    edited, replaced = re.subn(r"^\*\*.+?\*\*$", f"**{HEADLINE}**", edited, count=1, flags=re.M)
    assert replaced == 1, f"no bold verdict line in the editor:\n{markdown[:1500]}"
    edited, replaced = re.subn(
        r"(\*\*" + re.escape(HEADLINE) + r"\*\*\n\n)(.+?)(\n\n)",
        lambda m: m[1] + SUMMARY + m[3],
        edited,
        count=1,
        flags=re.S,
    )
    assert replaced == 1, f"no summary paragraph after the verdict:\n{edited[:1500]}"
    editor.fill(edited)
    shot("edit")
    page.get_by_role("button", name="Save as a new revision").click()
    page.wait_for_url(re.compile(rf"/articles/{slug}$"))
    expect(page.locator("#flash")).to_contain_text("Stored r2")
    expect(page.get_by_test_id("status-badge")).to_have_text("draft")
    expect(page.get_by_role("article", name="Article")).to_contain_text(VERDICT)
    expect(page.locator("#history")).to_contain_text("What changed from r1 to r2")
    _act(page, slug, "Submit", "submitted")
    shot("resubmitted")
    _sign_out(page)


def _reviewer_approves(page: Page, shot: Shots, slug: str) -> None:
    _sign_in(page, shot, "rex")
    _open_article(page, slug)
    _act(page, slug, "Start review", "under review")
    expect(page.get_by_test_id("state-placeholders")).to_have_count(0)
    # every sentence the citation check flagged gets a decision with a reason, on the page
    while page.locator('button[data-testid^="acknowledge-"]').count():
        form = page.locator("form.ack-form").first
        form.get_by_label("Why may this sentence stand? (required)").fill(
            "Checked against the cited passage: it says this."
        )
        form.get_by_role("button", name="Acknowledge").click()
        expect(page.locator("#flash")).to_contain_text("acknowledged")
    expect(page.get_by_test_id("state-ready")).to_be_visible()
    page.get_by_label("Approval note (optional)").fill("The verdict now matches the evidence.")
    _act(page, slug, "Approve", "approved")
    shot("approved")
    _sign_out(page)


def _publisher_publishes(page: Page, shot: Shots, slug: str) -> None:
    _sign_in(page, shot, "pam", "login-publisher")
    _open_article(page, slug)
    # Publishing asks for a ticked confirmation first (the browser enforces it) …
    confirm = page.get_by_test_id("confirm-publish")
    page.get_by_role("button", name="Publish", exact=True).click()
    assert confirm.evaluate("box => box.validity.valueMissing") is True
    expect(page.get_by_test_id("status-badge")).to_have_text("approved")
    confirm.check()
    _act(page, slug, "Publish", "published")
    expect(page.locator("#flash")).to_contain_text("Site rebuilt with 1 article.")
    expect(page.get_by_text("live on the site")).to_be_visible()
    shot("published")
    _sign_out(page)


def _site_shows_the_approved_page(page: Page, shot: Shots, outputs: Path, slug: str) -> None:
    site_page = outputs / "site" / "articles" / f"{slug}.html"
    assert site_page.is_file(), f"not in the static site: {site_page}"
    html = site_page.read_text("utf-8")
    assert VERDICT in html
    page.goto(site_page.as_uri())
    expect(page.get_by_role("heading", name=REFERENCE_QUESTION)).to_be_visible()
    badge = page.get_by_role("status", name="Review status: Approved")
    expect(badge).to_be_visible()
    expect(badge.locator(".step-current")).to_have_text("Approved")
    expect(page.get_by_text(VERDICT)).to_be_visible()
    expect(page.get_by_text(re.compile(r"Reviewed by .*rex"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"Verdict written by ann"))).to_be_visible()
    assert "verdict needs editorial judgment" not in html.lower()
    shot("site-page")


NARROW = 390
"""A phone's CSS width (iPhone 12-15): the desk must work without sideways scrolling."""


def _no_sideways_scroll(page: Page, width: int, where: str) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{where}: the page is {scroll_width} px wide at {width} px"


def test_the_desk_at_desktop_and_390_px_widths(
    browser: Browser, desk_server: DeskServer, artifacts: Path
) -> None:
    """Queue and article fit the screen; citations are named, big enough to tap, and open
    their evidence in place (with a way back) on a narrow screen."""
    from tests.e2e.conftest import press

    press(["draft", REFERENCE_QUESTION, "--as", "ann", "--no-llm"])
    for width in (1280, NARROW):
        folder = artifacts / f"{width}px"
        folder.mkdir(exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()
        context = browser.new_context(
            base_url=desk_server.url, viewport={"width": width, "height": 844}
        )
        context.set_default_timeout(WAIT_MS)
        page = context.new_page()
        shot = Shots(page, folder)
        try:
            _walk_at_width(page, shot, width)
        except BaseException as exc:
            page.screenshot(path=str(folder / "99-failure.png"), full_page=True)
            exc.add_note(f"Screenshots: {folder}; page: {page.url}")
            raise
        finally:
            context.close()


def _walk_at_width(page: Page, shot: Shots, width: int) -> None:
    _sign_in(page, shot, "rex")
    expect(page.locator("#articles-table")).to_be_visible()
    _no_sideways_scroll(page, width, "queue")
    shot("queue")
    row = page.locator("#articles-table tbody tr").first
    row.get_by_role("link").first.click()
    page.wait_for_url(re.compile(r"/articles/[a-z0-9-]+$"))
    expect(page.get_by_test_id("state-placeholders")).to_be_visible()
    _no_sideways_scroll(page, width, "article")
    shot("article")

    body = page.get_by_role("article", name="Article")
    cite = body.get_by_role("link", name=re.compile(r"^Evidence 1: \S")).first
    box = cite.bounding_box()
    assert box is not None and box["width"] >= 24 and box["height"] >= 24, box
    cite.scroll_into_view_if_needed()
    before = page.evaluate("window.scrollY")
    cite.click()
    source = page.get_by_test_id("evidence-1")
    expect(source).to_be_visible()
    expect(source).to_be_focused()
    expect(source.get_by_test_id("evidence-file-1")).to_contain_text(".jsonl")
    if width == NARROW:
        # in place: inside the article, right under the tapped sentence, not 4,000 px away
        expect(body.get_by_test_id("inline-evidence").get_by_test_id("evidence-1")).to_be_visible()
        jump = page.evaluate("window.scrollY") - before
        assert abs(jump) < 900, f"tapping the citation scrolled {jump} px"
        _no_sideways_scroll(page, width, "article with evidence open")
        shot("evidence-in-place")
        source.get_by_role("link", name="Back to the text").click()
        expect(cite).to_be_focused()
        expect(body.get_by_test_id("inline-evidence")).to_have_count(0)
        shot("back-to-the-text")
    else:
        panel = page.get_by_role("complementary", name="Evidence")
        expect(panel.get_by_test_id("evidence-1")).to_be_visible()
        shot("evidence-panel")
    page.goto("/account")
    expect(page.get_by_role("heading", name="Your sessions")).to_be_visible()
    expect(page.get_by_text("This browser")).to_be_visible()
    _no_sideways_scroll(page, width, "sessions")
    shot("sessions")
