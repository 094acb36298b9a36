"""The desk's one-action fix for a bullet that another retrieved source supports better."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pipeline.cite import check as cite
from pipeline.cite import claims
from pipeline.index.hybrid import Index
from pipeline.review.workflow import Workflow
from pipeline.settings.load import Settings
from tests.support.review_factories import PASSAGES, make_article
from tests.web.conftest import csrf_of

SignIn = Callable[..., TestClient]
COPIED = PASSAGES["pmid:2"]  # a cohort study's sentence, cited below to the trial [1]


@pytest.fixture
def misattributed(flow: Workflow, demo: tuple[Settings, Index]) -> str:
    """A draft whose first bullet copies source 2 word for word but cites source 1."""
    settings, index = demo
    article, evidence = make_article(bullet=COPIED)
    check = cite.check_citations(article.draft, evidence, embed=index.embed)
    article.checks = claims.article_checks(
        check,
        evidence,
        support_threshold=settings.draft.support_threshold,
        margin=settings.draft.misattribution_margin,
        embed=index.embed,
    )
    return flow.store_draft("ann", article, evidence).article().slug


def test_the_desk_offers_the_better_source_and_logs_the_fix(
    sign_in: SignIn,
    make_app: Callable[..., FastAPI],
    demo: tuple[Settings, Index],
    flow: Workflow,
    misattributed: str,
) -> None:
    first = flow.current_revision(misattributed).article()
    flag = next(c for c in first.checks if c.is_bullet and c.bullet == 0)
    assert flag.flagged and flag.better == 2 and flag.better_citation_id == "pmid:2"
    ann = sign_in("ann", make_app(index=demo[1]))
    page = ann.get(f"/articles/{misattributed}").text
    assert "better supported by [2]" in page
    assert 'data-testid="reattribute-0-0"' in page and "Cite [2] instead" in page
    data = {"csrf_token": csrf_of(ann), "based_on": "1", "section": "0", "bullet": "0"}
    fixed = ann.post(f"/articles/{misattributed}/reattribute", data=data)
    assert fixed.status_code == 303, fixed.text
    current = flow.current_revision(misattributed)
    assert current.number == 2
    bullet = current.article().draft.sections[0].bullets[0]
    cited = {r.number: r.citation_id for r in current.article().references}
    assert bullet.text == COPIED and [cited[n] for n in bullet.citations] == ["pmid:2"]
    assert not [c for c in current.article().checks if c.is_bullet and c.flagged]
    log = flow.store.log(flow.store.article(misattributed))
    assert "reattributed bullet 1.1 of r1 from [1] to [2] pmid:2" in (log[-1].comment or "")
    again = ann.post(f"/articles/{misattributed}/reattribute", data=data)
    assert again.status_code == 404  # r2 has no such flag left: nothing to fix twice


def test_only_an_author_may_reattribute(
    sign_in: SignIn,
    make_app: Callable[..., FastAPI],
    demo: tuple[Settings, Index],
    misattributed: str,
) -> None:
    rex = sign_in("rex", make_app(index=demo[1]))
    page = rex.get(f"/articles/{misattributed}").text
    assert "better supported by [2]" in page and "Cite [2] instead" not in page
    data = {"csrf_token": csrf_of(rex), "based_on": "1", "section": "0", "bullet": "0"}
    refused = rex.post(f"/articles/{misattributed}/reattribute", data=data)
    assert refused.status_code == 403
    assert re.search(r"cannot", refused.text)
