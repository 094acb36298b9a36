"""Path traversal in slugs and file arguments is refused with the project's error.

Slugs come from the command line (and, later, URLs): every slug-taking command gets the
traversal variants below and must refuse with ``error:`` + ``hint:`` (exit 1), write no file
and leave the real article alone. File arguments (``press edit --from``, ``press ingest``)
that are directories, symlink loops, devices or FIFOs are refused instead of being read
forever or crashing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pipeline.errors import UnsafeSlugError
from pipeline.models.article import SiteEntry
from pipeline.publish.site import build_site
from tests.support import tally
from tests.support.demo_index import REFERENCE_QUESTION
from tests.support.press_cli import ok, press
from tests.support.site_entries import entry

SLUGS = [
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e/%2e%2e/etc/passwd",
    "..%252F..%252Fetc%252Fpasswd",
    "/etc/passwd",
    "C:\\Windows\\win.ini",
    "..\\..\\etc\\passwd",
    "articles/../../../x",
    "a\x00b",
    "x/../../../../tmp/evil",
    "．．／．．／etc／passwd",
    "~root/.ssh/id_rsa",
    "",
    "-",
]
COMMANDS = [
    ["status", "{slug}", "--json"],
    ["history", "{slug}"],
    ["diff", "{slug}"],
    ["submit", "{slug}", "--as", "ann"],
    ["review", "{slug}", "--as", "rex"],
    ["approve", "{slug}", "--as", "rex"],
    ["request-changes", "{slug}", "-m", "x", "--as", "rex"],
    ["withdraw", "{slug}", "--as", "ann"],
    ["publish", "{slug}", "--as", "pam"],
    ["retract", "{slug}", "--reason", "x", "--as", "pam"],
    ["edit", "{slug}", "--from", "{file}", "--as", "ann"],
]


def tree(root: Path) -> list[str]:
    """Every path under ``root``, less SQLite's -shm/-wal side files: they come and go with
    open connections (an in-process command may close one), and are not files it wrote."""
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if not p.name.endswith(("-shm", "-wal"))
    )


@pytest.mark.slow  # a subprocess or the whole demo set: seconds, not ms
def test_traversal_slugs_are_refused_by_every_command(staffed_home: Path, tmp_path: Path) -> None:
    ok(["draft", REFERENCE_QUESTION, "--no-llm", "--as", "ann"])
    [article] = json.loads(ok(["status", "--json"]).stdout)
    markdown = tmp_path / "edit.md"
    markdown.write_text("**H**\n\n## Bottom Line\n\nB\n")
    before = tree(tmp_path)
    for slug in SLUGS:
        for command in COMMANDS:
            args = [a.format(slug=slug, file=markdown) for a in command]
            result = press(args)
            tally.count("payloads: traversal slug")
            assert result.exit_code == 1, (args, result.stdout, result.exception)
            assert "error:" in result.stderr and "hint:" in result.stderr, (args, result.stderr)
    assert tree(tmp_path) == before
    assert json.loads(ok(["status", "--json"]).stdout) == [article]


@pytest.mark.parametrize("slug", [*SLUGS, "UPPER", "a/b", "a.html", "-lead"])
def test_the_site_builder_refuses_unsafe_slugs(tmp_path: Path, slug: str) -> None:
    bad: SiteEntry = entry("ok-slug", "Is it safe?", 1)
    bad.article.slug = slug
    with pytest.raises(UnsafeSlugError):
        build_site([bad], tmp_path / "site")
    assert not (tmp_path / "site").exists()
    tally.count("payloads: traversal slug")


def test_bad_edit_files_are_refused_with_an_edit_error(staffed_home: Path, tmp_path: Path) -> None:
    ok(["draft", REFERENCE_QUESTION, "--no-llm", "--as", "ann"])
    [article] = json.loads(ok(["status", "--json"]).stdout)
    loop = tmp_path / "loop"
    loop.symlink_to(tmp_path / "loop")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    latin = tmp_path / "latin.md"
    latin.write_bytes("**Caf\xe9**\n".encode("latin-1"))
    big = tmp_path / "big.md"
    with big.open("wb") as handle:
        handle.truncate(6 << 20)
    files = [tmp_path, tmp_path / "missing.md", loop, fifo, Path("/dev/zero"), latin, big]
    for path in files:
        result = press(["edit", article["slug"], "--from", str(path), "--as", "ann"])
        tally.count("payloads: bad file argument")
        assert result.exit_code == 1, (path, result.stderr, result.exception)
        assert "error:" in result.stderr and "hint:" in result.stderr, (path, result.stderr)
    assert json.loads(ok(["status", "--json"]).stdout) == [article]


def test_ingest_refuses_loops_devices_and_fifos(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    record = {"pmid": "1", "title": "IVIG in stiff-person syndrome", "abstract": "IVIG helped."}
    (folder / "a.jsonl").write_text(json.dumps(record) + "\n")
    (folder / "self").symlink_to(folder / "self")
    (folder / "up").symlink_to(folder)  # a folder loop
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = press(["ingest", str(folder), "--json"])
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert json.loads(result.stdout)["totals"]["citations"] == 1  # the loops were not followed
    for path in (tmp_path / "loop1", fifo, Path("/dev/zero")):
        result = press(["ingest", str(path)])
        tally.count("payloads: bad file argument")
        assert result.exit_code in (1, 2), (path, result.stderr, result.exception)
        message = " ".join(result.stderr.split())
        assert "error:" in message or "not a regular file" in message, message
        assert result.exception is None or isinstance(result.exception, SystemExit)
