"""One Jinja environment (pipeline.templating): namespaces, escaping by extension, one home."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from jinja2 import Environment, TemplateNotFound

import pipeline
from pipeline import templating

PACKAGE = Path(pipeline.__file__).parent


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Environment:
    """A fresh environment over two scratch namespaces (``one`` falls back to ``two``)."""
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (one / "v.md.j2").write_text("# {{ x }}\n", encoding="utf-8")
    (one / "v.html.j2").write_text("<p>{{ x }}</p>{% include 'inc.html.j2' %}", encoding="utf-8")
    (one / "v.xml.j2").write_text("<t>{{ x }}</t>", encoding="utf-8")
    (one / "u.md.j2").write_text("[{{ x }}]({{ x | md_url }})", encoding="utf-8")
    (one / "inc.html.j2").write_text("<i>one</i>", encoding="utf-8")
    (two / "inc.html.j2").write_text("<i>two</i>", encoding="utf-8")
    (two / "w.html.j2").write_text("{% include 'inc.html.j2' %}", encoding="utf-8")
    monkeypatch.setattr(templating, "FOLDERS", {"one": (one, two), "two": (two,)})
    return templating.environment.__wrapped__()


@pytest.mark.parametrize(
    ("name", "escaped"),
    [("a/x.html.j2", True), ("a/x.xml.j2", True), ("a/x.HTML", True), ("a/x.md.j2", False),
     ("a/article.css", False), ("a/x.j2", False), (None, False)],
)  # fmt: skip
def test_autoescape_is_decided_by_the_file_name(name: str | None, escaped: bool) -> None:
    assert templating.escaped_by_extension(name) is escaped


def test_markdown_values_are_markdown_escaped_not_html_escaped(env: Environment) -> None:
    out = env.get_template("one/v.md.j2").render(x="*a* <b> & [c]")
    assert out == "# \\*a\\* &lt;b&gt; &amp; \\[c\\]\n"
    link = env.get_template("one/u.md.j2").render(x="https://e.org/a b")
    assert link == "[https://e.org/a b](https://e.org/a%20b)"


def test_html_values_are_escaped_and_includes_stay_in_their_namespace(env: Environment) -> None:
    assert env.get_template("one/v.html.j2").render(x="<b>") == "<p>&lt;b&gt;</p><i>one</i>"
    assert env.get_template("two/w.html.j2").render() == "<i>two</i>"


def test_xml_values_lose_characters_xml_cannot_carry(env: Environment) -> None:
    assert env.get_template("one/v.xml.j2").render(x="a\x00\x0bb&") == "<t>ab&amp;</t>"


def test_a_name_needs_its_namespace(env: Environment) -> None:
    with pytest.raises(TemplateNotFound):
        env.get_template("v.html.j2")


def test_every_shipped_template_loads() -> None:
    env = templating.environment()
    for namespace, folders in templating.FOLDERS.items():
        for path in folders[0].glob("*.j2"):
            assert env.get_template(f"{namespace}/{path.name}").name == f"{namespace}/{path.name}"


def test_the_environment_and_the_sanitiser_each_have_one_home() -> None:
    homes = {
        r"Environment\(": {"templating.py"},
        r"\bnh3\.Cleaner\(|\bCleaner\(": {"article/sanitize.py"},
        r"\bJinja2Templates\((?!env=environment\(\))": set(),
    }
    for pattern, allowed in homes.items():
        found = {
            str(path.relative_to(PACKAGE))
            for path in PACKAGE.rglob("*.py")
            if re.search(pattern, path.read_text(encoding="utf-8"))
        }
        assert found == allowed, pattern
