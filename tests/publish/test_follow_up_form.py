"""pipeline.publish.follow_up_form: the follow-up form points at the desk only when one is set."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml.html import HtmlElement

from pipeline.errors import PressError
from pipeline.publish.site import build_site
from tests.support.site_entries import entries, page

DESK = "https://desk.example.org/press&co/"


def csp(tree: HtmlElement) -> str:
    [policy] = tree.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")
    return str(policy)


def test_follow_up_form_points_at_the_desk_only_when_one_is_set(tmp_path: Path) -> None:
    build_site(entries(), tmp_path / "desk", desk_url=DESK)
    raw = (tmp_path / "desk" / "articles" / "ivig-sps.html").read_text("utf-8")
    assert 'action="https://desk.example.org/press&amp;co/articles/ivig-sps/follow-up"' in raw
    tree = page(tmp_path / "desk" / "articles" / "ivig-sps.html")
    [form] = tree.xpath("//section[@class='follow-up-box']//form")
    assert (form.get("method"), form.get("action")) == (
        "get",
        "https://desk.example.org/press&co/articles/ivig-sps/follow-up",
    )
    [field] = form.xpath(".//input[@name='question']")
    [label] = form.xpath(f".//label[@for='{field.get('id')}']")
    assert label.text_content().strip() and field.get("type") == "text"
    assert "Have a follow-up question?" in tree.xpath("//h2[@id='follow-up-heading']/text()")
    assert "form-action https://desk.example.org;" in csp(tree) + ";"
    index = page(tmp_path / "desk" / "index.html")
    assert not index.xpath("//form") and "form-action 'none'" in csp(index)

    build_site(entries(), tmp_path / "plain")
    plain = page(tmp_path / "plain" / "articles" / "ivig-sps.html")
    assert not plain.xpath("//form") and "form-action 'none'" in csp(plain)
    assert plain.xpath("//p[@class='follow-up']/a/@href") == ["../index.html"]


@pytest.mark.parametrize(
    "bad", ["javascript:alert(1)", "https://desk.example.org/\"onmouseover='x'", "ftp://x", "/desk"]
)
def test_a_bad_desk_url_is_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(PressError, match="desk_url"):
        build_site(entries(), tmp_path / "site", desk_url=bad)
    assert not (tmp_path / "site").exists()


def test_follow_up_action_quotes_the_slug() -> None:
    from pipeline.publish.follow_up_form import desk_base, follow_up_form

    form = follow_up_form(desk_base("http://127.0.0.1:8000/"), "a b/../c?d#e")
    assert form is not None and form.origin == "http://127.0.0.1:8000"
    assert form.action == "http://127.0.0.1:8000/articles/a%20b%2F..%2Fc%3Fd%23e/follow-up"
    assert follow_up_form(desk_base(None), "x") is None
