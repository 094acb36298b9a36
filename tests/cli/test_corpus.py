"""`press ingest|search|corpus|index` (pipeline/cli/corpus.py): exit codes, messages, JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.settings.load import Settings
from pipeline.train.manifest import KIND_BI_ENCODER
from tests.support.trained_models import stock_model_folder

runner = CliRunner()


def test_ingest_reports_bad_files_and_exits_1(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "good.jsonl").write_text(
        json.dumps({"pmid": "5", "title": "Good", "abstract": "A usable abstract."}) + "\n"
    )
    (folder / "bad.xml").write_text("<PubmedArticleSet><PubmedArticle>")
    result = runner.invoke(app, ["ingest", str(folder), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["totals"]["citations"] == 1 and report["totals"]["failed"] == 1
    failed = [f for f in report["files"] if f["status"] == "failed"]
    assert failed[0]["path"].endswith("bad.xml") and len(failed[0]["messages"]) == 1


def test_ingest_of_a_missing_path_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "no such file" in result.stderr


def test_search_on_an_empty_index_says_how_to_fix_it() -> None:
    result = runner.invoke(app, ["search", "anything"])
    assert result.exit_code == 1
    assert "press ingest corpus/demo" in result.stderr


def test_search_lists_the_sps_trial_cards_first(demo_home: Settings) -> None:
    result = runner.invoke(app, ["search", "IVIG stiff person syndrome", "--json", "-k", "3"])
    assert result.exit_code == 0, result.stderr
    hits = json.loads(result.stdout)
    assert hits[0]["citation_id"] in {"ref:dalakas2001", "pmid:35798561", "pmid:33761724"}
    assert [h["rank"] for h in hits] == [1, 2, 3]


def test_corpus_stats_json(demo_home: Settings) -> None:
    result = runner.invoke(app, ["corpus", "stats", "--json"])
    assert result.exit_code == 0
    stats = json.loads(result.stdout)
    assert stats["citations"] == 86 and stats["evidence_levels"]["guideline"] >= 3


def test_index_check_passes_on_a_consistent_index(demo_home: Settings) -> None:
    result = runner.invoke(app, ["index", "check"])
    assert result.exit_code == 0 and "ok:" in result.stdout


@pytest.mark.slow  # re-embeds the whole demo corpus (~6 s); tests/index covers the logic fast
def test_index_rebuild_switches_the_index_to_a_trained_bi_encoder(
    demo_home: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Search refuses the old vectors; rebuild re-embeds with the named model and says so."""
    stock_model_folder(tmp_path / "home" / "models", "bi", kind=KIND_BI_ENCODER)
    monkeypatch.setenv("PRESS_EMBEDDINGS__MODEL", "bi")
    refused = runner.invoke(app, ["search", "stiff-person syndrome"])
    assert refused.exit_code == 2 and "press index" in refused.stderr
    rebuilt = runner.invoke(app, ["index", "rebuild", "--json"])
    assert rebuilt.exit_code == 0, rebuilt.stderr
    report = json.loads(rebuilt.stdout)
    assert report["embedded"] == report["passages"] == report["vectors"] > 0
    assert report["model"].startswith("all-MiniLM-L6-v2/bi-encoder:bi@")
    assert runner.invoke(app, ["search", "stiff-person syndrome"]).exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest"], "error: nothing to ingest hint: name files or folders, or pass --demo"),
        (["ingest", ".", "--format", "docx"], "error: unknown format 'docx'; choose from auto|"),
        (["search", "q", "--dense-only", "--lexical-only"],
         "error: choose at most one of --dense-only/--lexical-only"),
    ],
)  # fmt: skip
def test_usage_errors_exit_2_with_their_message(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split()), result.stderr
