"""XSS payloads in corpus text, questions and model output stay inert text on every page.

A corpus whose titles, authors, journals, abstracts and URLs carry the payloads is ingested;
articles are drafted from it by the extractive drafter and by a scripted model that returns
payloads in every field of its Draft, for a question that is itself a payload; they are
approved and published. Every HTML file written (the draft pages under outputs/drafts and
the site) is parsed and must hold no script-capable element, no event handler and no
script or data URL, while the payload text itself is still readable on the page.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lxml import etree, html

from tests.security.conftest import BAD_URLS, XSS, assert_inert_html
from tests.support import tally
from tests.support.openai_server import Reply, ScriptedOpenAIServer
from tests.support.press_cli import STAFF, ok


def corpus(path: Path) -> Path:
    records = []
    for i, payload in enumerate(XSS):
        records.append(
            {
                "pmid": str(7000 + i),
                "title": f"IVIG for stiffness {payload} trial {i}",
                "journal": f"J Neurol {payload}",
                "year": 2020,
                "authors": [f"Doe{payload} J", "Roe R"],
                "abstract": f"IVIG reduced stiffness in adults with stiff-person syndrome. "
                f"{payload} Patients improved after IVIG.",
                "url": BAD_URLS[i % len(BAD_URLS)],
                "doi": f"10.1000/x{i}{payload if i % 3 == 0 else ''}",
            }
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def llm_draft(question_payload: str) -> dict[str, Any]:
    return {
        "headline": f"IVIG {XSS[0]}",
        "summary": f"Summary {XSS[1]} [1]",
        "sections": [
            {
                "heading": f"Heading {XSS[2]}",
                "lead": f"Lead {XSS[5]}",
                "bullets": [{"text": f"Bullet {p}", "citations": [1]} for p in XSS],
            }
        ],
        "bottom_line": f"Bottom {XSS[7]}",
        "related_questions": [question_payload, XSS[13]],
        "insufficient_evidence": False,
        "verdict": "yes",
    }


def publish(slug: str) -> None:
    from pipeline.review.workflow import Workflow
    from pipeline.settings.load import load_settings
    from pipeline.store.db import Store
    from tests.support.review_factories import acknowledge_flags, write_verdict

    flow = Workflow(Store.from_settings(load_settings()))
    # the publish gate: the editor writes the extractive draft's verdict (payloads and all)
    write_verdict(flow, slug, extra=f" {XSS[2]} {XSS[5]}")
    ok(["submit", slug, "--as", "ann"])
    ok(["review", slug, "--as", "rex"])
    acknowledge_flags(flow, slug)
    ok(["approve", slug, "--as", "rex"])
    ok(["publish", slug, "--as", "pam"])


def test_payloads_in_corpus_questions_and_model_output_are_inert_everywhere(
    tmp_path: Path, monkeypatch: Any, llm_server_env: ScriptedOpenAIServer
) -> None:
    monkeypatch.setenv("PRESS_OUTPUTS", str(tmp_path / "out"))
    for name, role in STAFF:
        ok(["users", "add", name, "--role", role, "--as", "ada"])
    ok(["ingest", str(corpus(tmp_path / "xss.jsonl"))])
    question = f"Does IVIG reduce stiffness {XSS[0]} {XSS[1]}?"
    ok(["draft", question, "--no-llm", "--as", "ann"])
    llm_server_env.enqueue(Reply.tool_call("Draft", llm_draft(XSS[6])))
    ok(["draft", f"Is IVIG safe {XSS[9]} {XSS[3]}?", "--llm", "--as", "ann"])
    slugs = [a["slug"] for a in json.loads(ok(["status", "--json"]).stdout)]
    assert len(slugs) == 2
    for slug in slugs:
        publish(slug)
    tally.count("payloads: xss", len(XSS) * 3 + len(BAD_URLS))

    out = tmp_path / "out"
    pages = sorted(out.glob("drafts/*/article.html")) + sorted(out.glob("site/**/*.html"))
    assert len(pages) == 2 + 2 + 2  # two drafts, two articles, index and editorial policy
    text = ""
    for page in pages:
        assert_inert_html(page)
        text += html.fromstring(page.read_bytes()).text_content()
    # The payloads were shown as text, not dropped: the corpus's, the question's, the model's.
    for marker in ("alert('x1')", "onerror=\"alert('x2')\"", "{{ 7*7 }}", "alert(14)"):
        assert marker in text, marker
    for xml in ("feed.xml", "sitemap.xml"):
        etree.parse(str(out / "site" / xml))  # still well-formed XML
    json.loads((out / "site" / "articles.json").read_text())
