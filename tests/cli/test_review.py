"""The review, edit and publish commands of `press`, end to end on the demo corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.demo_index import REFERENCE_QUESTION
from tests.support.press_cli import ok, press


def refused(args: list[str]) -> str:
    """Run a command that must be refused; returns its stderr with line wrapping undone."""
    result = press(args)
    assert result.exit_code == 1, (args, result.stdout, result.stderr)
    assert "error:" in result.stderr and "hint:" in result.stderr
    return " ".join(result.stderr.split())


def draft(author: str = "ann") -> str:
    """Draft the reference question as ``author``; returns the stored article's slug."""
    ok(["draft", REFERENCE_QUESTION, "--no-llm", "--as", author])
    [article] = json.loads(ok(["status", "--json"]).stdout)
    return str(article["slug"])


def ready(slug: str, author: str = "ann") -> None:
    """Store the author's edit that writes the verdict, summary and Bottom Line the
    extractive drafter leaves open (the publish gate refuses approval before): r2."""
    from pipeline.review.workflow import Workflow
    from pipeline.settings.load import load_settings
    from pipeline.store.db import Store
    from tests.support.review_factories import write_verdict

    store = Store.from_settings(load_settings())
    try:
        write_verdict(Workflow(store), slug, author)
    finally:
        store.close()


def page(out: Path, slug: str) -> str:
    return (out / "site" / "articles" / f"{slug}.html").read_text()


def test_done_when_draft_submit_approve_publish_then_an_unapproved_edit(
    staffed_home: Path, tmp_path: Path
) -> None:
    slug = draft()
    ready(slug)
    ok(["submit", slug, "--as", "ann"])
    ok(["review", slug, "--as", "rex"])
    ok(["approve", slug, "--as", "rex", "--comment", "references checked"])
    published = json.loads(ok(["publish", slug, "--as", "pam", "--json"]).stdout)
    assert published["status"] == "published" and published["published_revision"] == "r2"
    html = page(staffed_home, slug)
    assert "Approved" in html and "Reviewed by rex" in html
    assert "pending human review" not in html

    markdown = (staffed_home / "drafts" / slug / "article.md").read_text()
    first_bullet = next(line for line in markdown.splitlines() if line.startswith("- "))
    edited = tmp_path / "edited.md"
    edited.write_text(markdown.replace(first_bullet, "- UNREVIEWED CLAIM. [1]"))
    status = json.loads(ok(["edit", slug, "--from", str(edited), "--as", "ann", "--json"]).stdout)
    assert (status["status"], status["revision"], status["published_revision"]) == (
        "draft",
        "r3",
        "r2",
    )
    assert "+- UNREVIEWED CLAIM. [1]" in ok(["diff", slug]).stdout
    refused(["publish", slug, "--as", "pam"])
    ok(["submit", slug, "--as", "ann"])
    ok(["site", "build"])
    html = page(staffed_home, slug)
    assert "UNREVIEWED" not in html and first_bullet[2:40] in html

    history = json.loads(ok(["history", slug, "--json"]).stdout)
    assert [row["action"].removeprefix("review.") for row in history] == [
        "draft",
        "draft",
        "submit",
        "start_review",
        "approve",
        "publish",
        "draft",
        "submit",
    ]
    assert history[4]["comment"] == "references checked" and history[6]["revision"] == "r3"


def test_retract_records_the_reason_and_takes_the_page_down(staffed_home: Path) -> None:
    slug = draft()
    ready(slug)
    for args in (["submit", slug, "--as", "ann"], ["review", slug, "--as", "rex"]):
        ok(args)
    ok(["approve", slug, "--as", "rex"])
    ok(["publish", slug, "--as", "pam"])
    assert (staffed_home / "site" / "articles" / f"{slug}.html").is_file()
    refused(["retract", slug, "--as", "pam"])
    ok(["retract", slug, "--as", "pam", "--reason", "dose error in bullet 2"])
    assert not (staffed_home / "site" / "articles" / f"{slug}.html").exists()
    history = json.loads(ok(["history", slug, "--json"]).stdout)
    assert history[-1]["comment"] == "dose error in bullet 2"
    assert history[-1]["status"] == "retracted"


def test_self_approval_is_refused_and_says_who_may_approve(staffed_home: Path) -> None:
    ok(["users", "add", "rita", "--role", "author", "--role", "reviewer", "--as", "ada"])
    slug = draft("rita")
    ready(slug, "rita")
    ok(["submit", slug, "--as", "rita"])
    assert "nobody reviews their own work" in refused(["review", slug, "--as", "rita"])
    ok(["review", slug, "--as", "rex"])
    result = refused(["approve", slug, "--as", "rita"])
    assert "rita wrote this article or revision and may not approve" in result
    assert "approve — ada, rex" in result
    ok(["approve", slug, "--as", "rex", "--revision", "2"])


def test_refusals_name_the_allowed_next_steps(staffed_home: Path) -> None:
    slug = draft()
    result = refused(["approve", slug, "--as", "rex"])
    assert "its status is draft" in result
    assert "submit — ada, ann" in result
    result = refused(["submit", slug, "--as", "rex"])
    assert "only an author may submit" in result
    ok(["submit", slug, "--as", "ann"])
    result = refused(["request-changes", slug, "--as", "rex"])
    assert "--comment" in result
    ok(["request-changes", slug, "--as", "rex", "-m", "cite the 2001 trial"])
    assert refused(["submit", slug, "--as", "nobody"]).count("press users add nobody")


def test_status_and_queue_show_what_each_user_may_do(staffed_home: Path) -> None:
    slug = draft()
    status = json.loads(ok(["status", slug, "--as", "ann", "--json"]).stdout)
    assert status["allowed_actions"] == ["edit", "submit", "withdraw"]
    assert status["author"] == "ann" and len(status["content_hash"]) == 64
    assert json.loads(ok(["queue", "--as", "rex", "--json"]).stdout) == []
    ok(["submit", slug, "--as", "ann"])
    [waiting] = json.loads(ok(["queue", "--as", "rex", "--json"]).stdout)
    assert (waiting["slug"], waiting["actions"]) == (slug, ["review", "request-changes"])
    assert "nothing waits for ann" in ok(["queue", "--as", "ann"]).stdout
    assert slug in ok(["status"]).stdout


def test_drafting_the_same_question_again_adds_no_identical_revision(staffed_home: Path) -> None:
    slug = draft()
    result = ok(["draft", REFERENCE_QUESTION, "--no-llm", "--as", "ann"])
    assert "unchanged" in result.stderr
    assert json.loads(ok(["status", slug, "--json"]).stdout)["revision"] == "r1"


def test_users_need_an_admin_and_unknown_authors_cannot_draft(staffed_home: Path) -> None:
    assert "only admins" in ok(["users", "add", "--help"]).stdout.lower()
    assert "Only an admin" in refused(["users", "add", "eve", "--role", "admin", "--as", "ann"])
    refused(["draft", REFERENCE_QUESTION, "--no-llm", "--as", "mallory"])
    users = json.loads(ok(["users", "list", "--json"]).stdout)
    assert [u["name"] for u in users] == ["ada", "ann", "pam", "rex"]


def test_stale_is_empty_while_the_cited_passages_are_unchanged(staffed_home: Path) -> None:
    slug = draft()
    ready(slug)
    ok(["submit", slug, "--as", "ann"])
    ok(["review", slug, "--as", "rex"])
    ok(["approve", slug, "--as", "rex"])
    ok(["publish", slug, "--as", "pam"])
    assert json.loads(ok(["stale", "--json"]).stdout) == []


def test_diff_needs_two_revisions(staffed_home: Path) -> None:
    slug = draft()
    assert "only one revision" in refused(["diff", slug])
    assert "render identically" in ok(["diff", slug, "r1", "1"]).stdout


FOLLOW_UP = "What dose of diazepam is used for stiff-person syndrome?"


def test_draft_follow_up_links_a_new_draft_to_its_published_parent(
    staffed_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slug = draft()
    ask = ["draft", FOLLOW_UP, "--no-llm", "--as", "ann", "--follow-up"]
    assert "not published" in refused([*ask, slug])
    assert "No article 'nope'" in refused([*ask, "nope"])
    ready(slug)
    for args in (["submit", slug], ["review", slug], ["approve", slug], ["publish", slug]):
        user = {"submit": "ann", "review": "rex", "approve": "rex", "publish": "pam"}[args[0]]
        ok([*args, "--as", user])
    assert not page(staffed_home, slug).count("<form")  # no review.desk_url: no form

    result = ok(["draft", FOLLOW_UP, "--follow-up", slug, "--no-llm", "--as", "ann"])
    assert f"follow-up of {slug}" in " ".join(result.stderr.split())
    assert Path(result.stdout.strip()).is_file()
    [child] = [a["slug"] for a in json.loads(ok(["status", "--json"]).stdout) if a["slug"] != slug]
    status = json.loads(ok(["status", child, "--json", "--as", "ann"]).stdout)
    assert (status["status"], status["follow_up_of"], status["follow_ups"]) == ("draft", slug, [])
    assert f"follow-up of {slug}" in ok(["status", child]).stdout
    assert f"follow-ups: {child}" in ok(["status", slug]).stdout
    queue = " ".join(ok(["queue", "--as", "ann"]).stdout.split())
    assert f"{child} draft r1: submit (follow-up of {slug})" in queue

    monkeypatch.setenv("PRESS_REVIEW__DESK_URL", "https://desk.example.org")
    ok(["site", "build"])
    action = f'action="https://desk.example.org/articles/{slug}/follow-up"'
    assert action in page(staffed_home, slug)
