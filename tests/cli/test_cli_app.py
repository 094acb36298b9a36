"""The `press` command line: exit codes, messages, JSON output, the README's main job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.index.hybrid import Index
from pipeline.settings import Settings
from tests.support.demo_index import REFERENCE_QUESTION

runner = CliRunner()


@pytest.fixture
def demo_home(demo: tuple[Settings, Index], monkeypatch: pytest.MonkeyPatch) -> Settings:
    settings, _ = demo
    monkeypatch.setenv("PRESS_HOME", str(settings.home))
    return settings


def test_config_show_json_lists_values_and_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRESS_RETRIEVAL__K", "4")
    result = runner.invoke(app, ["config", "show", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["retrieval.k"] == {"value": 4, "source": "env PRESS_RETRIEVAL__K"}


def test_invalid_setting_exits_2_with_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRESS_RETRIEVAL__K", "zero")
    result = runner.invoke(app, ["config", "show"])
    assert result.exit_code == 2
    assert "hint:" in result.stderr


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


def test_draft_prints_the_article_path_and_explains(
    demo_home: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRESS_OUTPUTS", str(tmp_path / "out"))
    result = runner.invoke(app, ["draft", REFERENCE_QUESTION, "--explain", "--no-llm"])
    assert result.exit_code == 0, result.stderr
    path = Path(result.stdout.strip().splitlines()[-1])
    assert path.name == "article.md" and path.is_file()
    assert "## Bottom Line" in path.read_text()
    assert "support" in result.stdout


def test_corpus_stats_json(demo_home: Settings) -> None:
    result = runner.invoke(app, ["corpus", "stats", "--json"])
    assert result.exit_code == 0
    stats = json.loads(result.stdout)
    assert stats["citations"] == 86 and stats["evidence_levels"]["guideline"] >= 3


def test_index_check_passes_on_a_consistent_index(demo_home: Settings) -> None:
    result = runner.invoke(app, ["index", "check"])
    assert result.exit_code == 0 and "ok:" in result.stdout


def test_readme_test_command_is_what_ci_runs() -> None:
    repo = Path(__file__).resolve().parents[2]
    readme = (repo / "README.md").read_text()
    command = readme.split("**2.")[1].split("```bash\n")[1].split("\n```")[0].strip()
    assert command in (repo / ".ci" / "run").read_text()
