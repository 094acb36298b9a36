"""Shared pieces of the security tests: the payload lists and an HTML safety check."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree, html

from tests.support.openai_server import ScriptedOpenAIServer

XSS = [
    "<script>alert('x1')</script>",
    "<img src=x onerror=\"alert('x2')\">",
    '"><svg onload=alert(3)>',
    "javascript:alert('x4')",
    '<a href="javascript:alert(5)">x5</a>',
    "</title><script>alert(6)</script>",
    "<iframe src=//evil.example/x7></iframe>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(8)>",
    '<div style="background:url(javascript:alert(9))">x9</div>',
    "{{ 7*7 }}{% raw %}x10",
    "]]><script>alert(11)</script><![CDATA[",
    "<!--x12--><base href=//evil.example/>",
    '<form action=//evil.example><input name=x13 autofocus onfocus="alert(13)">',
    "[x14](javascript:alert(14)) ![x](//evil.example/x.png)",
    "&lt;script&gt;alert(15)&lt;/script&gt;",
    "<object data=data:text/html;base64,PHNjcmlwdD5hbGVydCgxNik8L3NjcmlwdD4=>",
]
"""XSS payloads, each pushed through corpus text, questions and model output."""

BAD_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(2)",
    " javascript:alert(3)",
    "java\tscript:alert(4)",
    "data:text/html,<script>alert(5)</script>",
    "vbscript:msgbox(6)",
]
"""URLs a reference link must never carry."""

_ACTIVE = {"script", "iframe", "object", "embed", "svg", "math", "form", "input", "base", "style"}
_BAD_SCHEMES = ("javascript:", "data:", "vbscript:")


def assert_inert_html(path: Path) -> None:
    """No script-capable element, event handler or script/data URL in an HTML file.

    The page's own inline stylesheet (one ``<style>`` in ``<head>``) is allowed.
    """
    tree = html.fromstring(path.read_bytes())
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.lower()
        if tag == "style" and element.getparent() is not None and element.getparent().tag == "head":
            continue
        assert tag not in _ACTIVE, (path, etree.tostring(element)[:200])
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), (path, tag, name)
            cleaned = "".join(value.split()).lower()
            assert not cleaned.startswith(_BAD_SCHEMES), (path, tag, name, value)
            assert "javascript:" not in cleaned, (path, tag, name, value)


@pytest.fixture
def llm_server_env(
    openai_server: ScriptedOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> ScriptedOpenAIServer:
    """The scripted server as chat endpoint and embedding backend (deterministic vectors)."""
    monkeypatch.setenv("PRESS_EMBEDDINGS__BACKEND", "openai")
    monkeypatch.setenv("PRESS_LLM__BASE_URL", openai_server.base_url)
    monkeypatch.setenv("PRESS_LLM__API_KEY", "test")
    monkeypatch.setenv("PRESS_LLM__MODEL", "test-model")
    monkeypatch.setenv("PRESS_LLM__MAX_RETRIES", "0")
    return openai_server
