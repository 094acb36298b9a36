"""`press eval attribution`: pairs from real evidence, the margin chosen on one half."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.errors import EvalSetError
from pipeline.evaluate import attribution as bench
from pipeline.index.hybrid import Index
from pipeline.models.evidence import EvidenceSet
from pipeline.settings.load import Settings
from pipeline.text import normalize_space
from tests.cli.test_eval import DEMO_SET, _env

runner = CliRunner()


def _evidence(*texts: str) -> EvidenceSet:
    items = [bench._item(n, f"c{n}", text) for n, text in enumerate(texts, start=1)]
    return EvidenceSet(question="q", items=items)


def test_every_move_of_a_citation_is_a_misattributed_pair() -> None:
    evidence = _evidence(
        "Drug X improved condition Y in a randomized trial of 60 adults.",
        "A cohort study found fewer relapses of condition Y with drug X.",
        "Drug Z caused rashes in a case series of 12 patients.",
    )
    pairs = bench.demo_pairs([("q1", evidence, [(evidence.items[1].passages[0].passage.text, 2)])])
    assert [(p.cited, p.misattributed) for p in pairs] == [
        ("c1", True), ("c2", False), ("c3", True)
    ]  # fmt: skip
    report = bench.evaluate_attribution([("toy", pairs)], threshold=0.35, embed=None)
    (result,) = report.sets
    assert result.tune.pairs + result.test.pairs == 3
    flagged_all = [r for r in (result.tune, result.test) if r.misattributed]
    assert all(r.detection == 1.0 for r in flagged_all)
    assert all(r.false_flags in (0.0, None) for r in (result.tune, result.test))


def test_bioasq_pairs_move_citations_within_a_question(shared_data: Path) -> None:
    pairs = bench.bioasq_pairs(shared_data / "bioasq", limit=5)
    assert {p.question_id for p in pairs} and len({p.question_id for p in pairs}) <= 5
    for pair in pairs:
        ids = [i.citation.id for i in pair.evidence.items]
        assert pair.cited in ids and pair.source in ids
        source = next(i for i in pair.evidence.items if i.citation.id == pair.source)
        assert pair.claim in normalize_space(source.passages[0].passage.text)
    assert any(p.misattributed for p in pairs) and any(not p.misattributed for p in pairs)


@pytest.mark.slow  # a subprocess or the whole demo set: seconds, not ms
def test_the_command_writes_json_and_html(demo: tuple[Settings, Index], tmp_path: Path) -> None:
    settings, _ = demo
    out = tmp_path / "attribution.json"
    result = runner.invoke(
        app,
        ["eval", "attribution", "--set", str(DEMO_SET), "--out", str(out)],
        env=_env(settings.home, tmp_path),
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(out.read_text())
    (demo_set,) = report["sets"]
    assert demo_set["name"] == "demo" and demo_set["test"]["pairs"] > 100
    assert demo_set["test"]["false_flags"] <= 0.05
    assert report["recommended_margin"] == demo_set["margin"]
    html = out.with_suffix(".html").read_text()
    assert "Misattribution" in html or "misattributed" in html
    assert "tuning half" in html


def test_a_missing_bioasq_folder_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(EvalSetError, match=r"dev_set\.jsonl"):
        bench.bioasq_pairs(tmp_path, limit=1)
