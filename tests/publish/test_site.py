"""pipeline.publish.site: layout and report, refusals, XSS, atomicity, determinism, crashes."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import lxml.etree
import lxml.html
import pytest

from pipeline.article import render
from pipeline.errors import PublishError
from pipeline.index.embeddings import MiniLMOnnxEmbeddings
from pipeline.models.article import Article
from pipeline.publish.site import build_site
from tests.article.test_render import assert_no_active_content
from tests.support.site_entries import ATOM, entries, entry, page, snapshot

REPO = Path(__file__).resolve().parents[2]


def test_layout_and_report(tmp_path: Path) -> None:
    report = build_site(entries(), tmp_path / "out" / "site")
    site = tmp_path / "out" / "site"
    assert report.site_dir == site and report.articles == 6 and report.pages == 8
    assert set(report.files) == {p for p in snapshot(site) if not p.startswith(".")}
    for name in ["index.html", "editorial-policy.html", "articles.json", "feed.xml", "sitemap.xml"]:
        assert name in report.files
    assert "articles/ivig-sps-patient.html" in report.files
    assert sorted(p.name for p in site.parent.iterdir()) == [".site.lock", "site"]


def test_empty_site_is_valid(tmp_path: Path) -> None:
    report = build_site([], tmp_path / "site")
    assert report.articles == 0 and report.pages == 2
    assert "No articles" in page(tmp_path / "site" / "index.html").body.text_content()
    assert lxml.etree.fromstring((tmp_path / "site" / "feed.xml").read_bytes()).tag == f"{ATOM}feed"


def test_bad_base_url_and_foreign_directory_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PublishError, match="base_url"):
        build_site(entries(), tmp_path / "site", base_url="javascript:alert(1)")
    foreign = tmp_path / "docs"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("precious")
    with pytest.raises(PublishError, match="not built by Evidence Press"):
        build_site(entries(), foreign)
    assert (foreign / "keep.txt").read_text() == "precious"


PAYLOAD = '<script>alert(1)</script><img src=x onerror=alert(2)><a href="javascript:alert(3)">x</a>'


def test_xss_payloads_are_escaped_everywhere(tmp_path: Path) -> None:
    hostile = entry(
        "hostile",
        f"Q {PAYLOAD}",
        8,
        topic=f"T {PAYLOAD}",
        reviewed_by=[f"Dr {PAYLOAD}"],
        audience="patient",
    )
    hostile.article.draft.sections[0].bullets[0].text = f"B {PAYLOAD}"
    hostile.article.draft.headline = f"H {PAYLOAD}"
    hostile.article.draft.related_questions = [f"R {PAYLOAD}"]
    twin = entry("hostile-clinician", f"Q {PAYLOAD}", 8, reviewed_by=[f"Dr {PAYLOAD}"])
    build_site([*entries(), hostile, twin], tmp_path / "site", site_title=f"S {PAYLOAD}")
    for path in (tmp_path / "site").rglob("*.html"):
        tree = page(path)
        assert_no_active_content(tree.body, allow_style=False)
        assert_no_active_content(tree.head, allow_style=True)
        assert (
            len(list(tree.iter("style"))) == 1
            and not tree.xpath("//*[@style]")
            and "<script" not in path.read_text().lower()
        )
    tree = page(tmp_path / "site" / "articles" / "hostile.html")
    text = tree.body.text_content()
    for prefix in ["Q", "B", "H", "R", "Reviewed by Dr", "S"]:
        assert f"{prefix} {PAYLOAD}" in text, prefix
    assert "hostile-clinician.html" in [a.get("href") for a in tree.iter("a")]
    index_text = page(tmp_path / "site" / "index.html").body.text_content()
    assert f"T {PAYLOAD}" in index_text
    feed = lxml.etree.fromstring((tmp_path / "site" / "feed.xml").read_bytes())
    assert f"Q {PAYLOAD} (for patients)" in [t.text for t in feed.iter(f"{ATOM}title")]
    assert not list(feed.iter("script"))


def test_builds_are_deterministic_and_order_independent(
    tmp_path: Path, minilm: MiniLMOnnxEmbeddings
) -> None:
    shuffled = entries()
    random.Random(7).shuffle(shuffled)
    build_site(entries(), tmp_path / "one", embeddings=minilm)
    build_site(shuffled, tmp_path / "two", embeddings=minilm)
    first = snapshot(tmp_path / "one")
    assert first == snapshot(tmp_path / "two")
    build_site(entries(), tmp_path / "one", embeddings=minilm)  # rebuild in place
    assert snapshot(tmp_path / "one") == first


def test_crash_while_rendering_keeps_the_old_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    build_site(entries()[:3], site)
    before = snapshot(site)
    real = render.to_html_fragment
    calls = 0

    def flaky(article: Article) -> str:
        nonlocal calls
        calls += 1
        if calls > 2:
            raise RuntimeError("renderer crashed")
        return real(article)

    monkeypatch.setattr("pipeline.publish.pages.to_html_fragment", flaky)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        build_site(entries(), site)
    assert snapshot(site) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".site")) == [
        ".site.lock"
    ]
    monkeypatch.setattr("pipeline.publish.pages.to_html_fragment", real)
    assert build_site(entries(), site).articles == 6
    assert len(list((site / "articles").iterdir())) == 6


CRASH = """
import os, sys
from pathlib import Path
from pipeline.publish import pages, site as publish
from tests.support.site_entries import entries
mode = sys.argv[1]
if mode == "render":
    real = pages.to_html_fragment
    calls = []
    def dying(article):
        calls.append(1)
        if len(calls) > 2:
            os._exit(9)
        return real(article)
    pages.to_html_fragment = dying
else:
    import pipeline.atomic as atomic_dir
    real_rename = atomic_dir.rename
    def dying_rename(source, target):
        real_rename(source, target)
        if ".old-" in target.name:
            os._exit(9)
    atomic_dir.rename = dying_rename
publish.build_site(entries(), Path(sys.argv[2]))
"""


@pytest.mark.parametrize("mode", ["render", "between-renames"])
def test_hard_crash_leaves_a_complete_site_and_next_build_cleans_up(
    tmp_path: Path, mode: str
) -> None:
    site = tmp_path / "site"
    build_site(entries()[:2], site)
    before = snapshot(site)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CRASH), mode, str(site)], env=env, cwd=REPO
    )
    assert done.returncode == 9
    leftovers = sorted(
        p.name.split("-")[0] for p in tmp_path.iterdir() if p.name.startswith(".site.")
    )
    if mode == "render":
        assert snapshot(site) == before  # untouched
        assert leftovers == [".site.lock", ".site.tmp"]
    else:
        assert not site.exists()  # the old site waits, complete, under its .old name
        old = next(p for p in tmp_path.iterdir() if ".old-" in p.name)
        assert snapshot(old) == before
        assert leftovers == [".site.lock", ".site.old", ".site.tmp"]
    report = build_site(entries(), site)
    assert report.articles == 6 and (site / "articles" / "metformin-pregnancy.html").is_file()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".site")) == [
        ".site.lock"
    ]
