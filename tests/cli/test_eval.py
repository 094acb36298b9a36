"""`press eval`: both commands on the demo set, --compare exit codes, convert, errors, --llm."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.evaluate.sets import load_set
from pipeline.index.hybrid import Index
from pipeline.settings.load import Settings, load_settings
from tests.evaluate.test_articles import _draft_args
from tests.support.demo_index import copy_demo_home
from tests.support.openai_server import Reply, ScriptedOpenAIServer
from tests.support.trained_models import stock_model_folder

REPO = Path(__file__).resolve().parents[2]
DEMO_SET = REPO / "evals" / "sets" / "demo.jsonl"
runner = CliRunner()


def _env(home: Path, tmp: Path) -> dict[str, Any]:
    return {
        "PRESS_HOME": str(copy_demo_home(home, tmp / "home")),
        "PRESS_CONFIG": str(tmp / "no-press.toml"),
        "OPENAI_API_KEY": None,
        "OPENAI_BASE_URL": None,
        "PRESS_LLM__BASE_URL": None,
    }


def _flu_and_statin(path: Path) -> Path:
    """A two-citation corpus file: influenza vaccination and statins."""
    path.write_text(
        json.dumps({"id": "t:flu", "title": "Influenza vaccination in older adults",
                    "abstract": "Yearly vaccination reduces admissions in people over 65."})
        + "\n"
        + json.dumps({"id": "t:statin", "title": "Statins and LDL cholesterol",
                      "abstract": "Statins lower LDL cholesterol and cardiovascular events."})
        + "\n"
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def articles_run(
    demo: tuple[Settings, Index], tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], Path]:
    """`press eval articles` on the demo set, run once for the module."""
    settings, _ = demo
    tmp = tmp_path_factory.mktemp("eval-articles")
    out = tmp / "articles.json"
    result = runner.invoke(
        app,
        ["eval", "articles", "--set", str(DEMO_SET), "--no-llm", "--out", str(out)],
        env=_env(settings.home, tmp),
    )
    assert result.exit_code == 0, result.stderr
    return json.loads(out.read_text()), out


def test_articles_on_the_demo_set_cite_validly_and_follow_the_house_format(
    articles_run: tuple[dict[str, Any], Path],
) -> None:
    report, out = articles_run
    metrics = report["metrics"]
    assert report["n_questions"] == 16 and report["drafter"] == "extractive"
    assert metrics["citation_validity"] == 1.0
    assert metrics["structure_compliance"] == 1.0
    # The extractive drafter states no verdict: every question with a gold one counts wrong.
    assert metrics["verdict_agreement"] == 0.0 and metrics["n_verdict_scored"] == 8
    assert metrics["n_verdict_given"] == 0
    assert metrics["false_abstention_rate"] == 0.0 and metrics["n_errors"] == 0
    html = out.with_suffix(".html").read_text()
    assert html.count("<details>") == 16 and "Seconds per question and stage" in html


@pytest.mark.parametrize("question_id", [q.id for q in load_set(DEMO_SET) if not q.answerable])
def test_the_drafter_abstains_on_unanswerable_questions(
    articles_run: tuple[dict[str, Any], Path], question_id: str
) -> None:
    report, _ = articles_run
    result = next(q for q in report["per_question"] if q["id"] == question_id)
    assert result["insufficient_evidence"], f"best similarity {result['best_similarity']:.3f}"
    assert result["cited"] == []


def test_retrieval_on_the_demo_set_writes_json_and_html(
    demo: tuple[Settings, Index], tmp_path: Path
) -> None:
    settings, _ = demo
    out = tmp_path / "r" / "retrieval.json"
    args = ["eval", "retrieval", "--set", str(DEMO_SET), "--k", "10", "--out", str(out)]
    result = runner.invoke(app, args, env=_env(settings.home, tmp_path))
    assert result.exit_code == 0, result.stderr
    report = json.loads(out.read_text())
    assert (report["k"], report["n_questions"]) == (10, 12)
    assert set(report["methods"]) == {"fused", "dense", "lexical"}
    assert "fused" in result.stdout and out.with_suffix(".html").is_file()

    same = runner.invoke(app, [*args[:-1], str(tmp_path / "again.json"), "--compare", str(out)],
                         env=_env(settings.home, tmp_path))  # fmt: skip
    assert same.exit_code == 0, same.stderr
    assert "fused.recall@k" in same.stdout

    better = json.loads(out.read_text())
    better["methods"]["lexical"]["mrr@10"] = min(1.0, better["methods"]["lexical"]["mrr@10"] + 0.05)
    better["methods"]["lexical"]["ndcg@10"] = 1.5  # cannot be matched: always a regression
    old = tmp_path / "old.json"
    old.write_text(json.dumps(better))
    worse = runner.invoke(
        app,
        ["eval", "retrieval", "--set", str(DEMO_SET), "--compare", str(old), "--json"],
        env=_env(settings.home, tmp_path),
    )
    assert worse.exit_code == 3
    assert "regression" in worse.stderr and "lexical.ndcg@10" in worse.stderr
    assert json.loads(worse.stdout)["k"] == 10  # --json keeps stdout pure JSON

    loose = runner.invoke(
        app,
        ["eval", "compare", str(old), str(out), "--tol-retrieval", "1.0"],
        env=_env(settings.home, tmp_path),
    )
    assert loose.exit_code == 0, loose.stderr


def test_retrieval_with_a_corpus_builds_then_reuses_its_index(tmp_path: Path) -> None:
    corpus = _flu_and_statin(tmp_path / "c.jsonl")
    questions = tmp_path / "s.jsonl"
    questions.write_text('{"id": "q", "question": "Does the flu shot help older people?", '
                         '"relevant": ["t:flu"], "type": "factoid"}\n')  # fmt: skip
    args = ["eval", "retrieval", "--set", str(questions), "--corpus", str(corpus), "--json"]
    first = runner.invoke(app, args, env={"PRESS_HOME": str(tmp_path / "home")})
    assert first.exit_code == 0, first.stderr
    assert "built evaluation index" in first.stderr
    report = json.loads(first.stdout)
    assert report["corpus"] == str(corpus) and report["methods"]["fused"]["hit@1"] == 1.0
    second = runner.invoke(app, args, env={"PRESS_HOME": str(tmp_path / "home")})
    assert second.exit_code == 0 and "reused evaluation index" in second.stderr


def test_trained_models_of_the_home_are_found_when_evaluating_on_a_corpus(
    tmp_path: Path,
) -> None:
    """`--corpus` evaluates in its own index folder; the home's trained models still count.

    A query encoder and a bi-encoder named in the settings live under ``<home>/models``;
    the evaluation index lives under ``<home>/eval-indexes/...``, and must look for them in
    the home, not in its own folder.
    """
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(
        json.dumps({"id": "t:flu", "title": "Influenza vaccination in older adults",
                    "abstract": "Yearly vaccination reduces admissions in people over 65."})
        + "\n"
    )  # fmt: skip
    questions = tmp_path / "s.jsonl"
    questions.write_text('{"id": "q", "question": "Does the flu shot help older people?", '
                         '"relevant": ["t:flu"], "type": "factoid"}\n')  # fmt: skip
    home = tmp_path / "home"
    models = load_settings(home=home).models_dir
    stock_model_folder(models, "q")
    stock_model_folder(models, "bi", kind="bi-encoder")
    args = ["eval", "retrieval", "--set", str(questions), "--corpus", str(corpus), "--json"]
    compared = runner.invoke(app, [*args, "--compare-model", "q"], env={"PRESS_HOME": str(home)})
    assert compared.exit_code == 0, compared.stderr
    assert json.loads(compared.stdout)["methods"]["fused"]["hit@1"] == 1.0
    env = {"PRESS_HOME": str(home), "PRESS_EMBEDDINGS__MODEL": "bi"}
    embedded_by_bi = runner.invoke(app, args, env=env)
    assert embedded_by_bi.exit_code == 0, embedded_by_bi.stderr
    assert json.loads(embedded_by_bi.stdout)["methods"]["dense"]["hit@1"] == 1.0
    # the question encoder was trained against the stock passage vectors: refused here
    mixed = runner.invoke(app, [*args, "--compare-model", "q"], env=env)
    assert mixed.exit_code == 2 and "trained against" in mixed.stderr


def test_convert_pubmedqa_writes_corpus_and_set(tmp_path: Path) -> None:
    source = tmp_path / "pqal_tiny.json"
    source.write_text(json.dumps({"99": {"QUESTION": "Q?", "CONTEXTS": ["Body."],
                                         "LABELS": ["RESULTS"], "YEAR": "2010",
                                         "final_decision": "no"}}))  # fmt: skip
    result = runner.invoke(
        app, ["eval", "convert", "pubmedqa", str(source), "--out-dir", str(tmp_path / "o")]
    )
    assert result.exit_code == 0, result.stderr
    corpus, qset = (Path(line) for line in result.stdout.strip().splitlines()[-2:])
    assert json.loads(corpus.read_text())["id"] == "99"
    assert json.loads(qset.read_text())["verdict"] == "no"


def test_a_missing_set_exits_2_and_an_empty_index_exits_1(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["eval", "retrieval", "--set", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 2 and "cannot read the question set" in missing.stderr
    empty = runner.invoke(app, ["eval", "articles", "--set", str(DEMO_SET), "--no-llm"])
    assert empty.exit_code == 1 and "--corpus" in empty.stderr


def test_limit_drafts_only_the_first_questions(
    demo: tuple[Settings, Index], tmp_path: Path
) -> None:
    settings, _ = demo
    out = tmp_path / "limited.json"
    result = runner.invoke(
        app,
        ["eval", "articles", "--set", str(DEMO_SET), "--no-llm", "--limit", "2", "--out", str(out)],
        env=_env(settings.home, tmp_path),
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(out.read_text())
    first_two = [q.id for q in load_set(DEMO_SET)[:2]]
    assert report["n_questions"] == 2
    assert [q["id"] for q in report["per_question"]] == first_two
    assert report["metrics"]["n_articles"] == 2


def test_the_llm_path_drafts_the_first_questions_and_counts_missing_verdicts(
    openai_server: ScriptedOpenAIServer, demo: tuple[Settings, Index], tmp_path: Path
) -> None:
    settings, _ = demo
    # The first two demo questions expect "maybe": one draft agrees, one gives no verdict.
    openai_server.enqueue(
        Reply.tool_call("Draft", _draft_args("maybe"), prompt_tokens=500, completion_tokens=50),
        # No verdict on a yes/no question: one repair round, and this model keeps none.
        *[Reply.tool_call("Draft", _draft_args(None), prompt_tokens=400, completion_tokens=40)] * 2,
    )
    env = _env(copy_demo_home(settings.home, tmp_path / "home"), tmp_path) | {
        "PRESS_LLM__BASE_URL": openai_server.base_url,
        "PRESS_LLM__API_KEY": "test",
        "PRESS_LLM__MODEL": "test-model",
        "PRESS_LLM__MAX_RETRIES": "0",
    }
    out = tmp_path / "llm.json"
    result = runner.invoke(
        app, ["eval", "articles", "--set", str(DEMO_SET), "--llm", "--limit", "2", "--out",
              str(out)], env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["drafter"] == "llm" and report["n_questions"] == 2
    m = report["metrics"]
    assert (m["verdict_agreement"], m["n_verdict_scored"], m["n_verdict_given"]) == (0.5, 2, 1)
    assert report["tokens"]["prompt_tokens"] == 1300
    assert "a missing or uncertain one counts as wrong" in out.with_suffix(".html").read_text()


def test_eval_retrieval_compare_model_prints_both_configurations(
    demo: tuple[Settings, Index], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, _ = demo
    home = copy_demo_home(settings.home, tmp_path / "home")
    monkeypatch.setenv("PRESS_HOME", str(home))
    folder = stock_model_folder(settings.model_copy(update={"home": home}).models_dir, "cmp-test")
    try:
        set_path = Path(__file__).resolve().parents[2] / "evals" / "sets" / "demo.jsonl"
        out = tmp_path / "r.json"
        result = CliRunner().invoke(
            app,
            ["eval", "retrieval", "--set", str(set_path), "--compare-model", "cmp-test",
             "--out", str(out)],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "stock" in result.output and "cmp-test" in result.output
        assert (tmp_path / "r.cmp-test.json").is_file() and out.is_file()
        result = CliRunner().invoke(
            app, ["eval", "retrieval", "--set", str(set_path), "--compare-model", "absent"]
        )
        assert result.exit_code == 2 and "No query encoder named" in result.output
    finally:
        shutil.rmtree(folder)


def test_compare_embeddings_scores_a_re_embedded_copy_beside_the_index(tmp_path: Path) -> None:
    """`--compare-embeddings NAME` re-embeds a copy once, reuses it, and leaves the index be.

    The bi-encoder here holds the stock weights, so both configurations must score alike.
    """
    corpus = _flu_and_statin(tmp_path / "c.jsonl")
    questions = tmp_path / "s.jsonl"
    questions.write_text(
        '{"id": "q1", "question": "Does the flu shot help older people?", "relevant": ["t:flu"]}\n'
        '{"id": "q2", "question": "What do statins do to LDL?", "relevant": ["t:statin"]}\n'
    )
    home = tmp_path / "home"
    env = {"PRESS_HOME": str(home), "PRESS_CONFIG": str(tmp_path / "none.toml")}
    assert runner.invoke(app, ["ingest", str(corpus)], env=env).exit_code == 0
    stock_model_folder(load_settings(home=home).models_dir, "bi", kind="bi-encoder")
    out = tmp_path / "r.json"
    args = ["eval", "retrieval", "--set", str(questions), "--compare-embeddings", "bi"]
    first = runner.invoke(app, [*args, "--out", str(out)], env=env)
    assert first.exit_code == 0, first.stderr
    assert "built re-embedded index" in first.stderr
    stock, trained = json.loads(out.read_text()), json.loads((tmp_path / "r.bi.json").read_text())
    for method in ("fused", "dense"):
        assert trained["methods"][method]["recall@k"] == stock["methods"][method]["recall@k"] == 1
    again = runner.invoke(app, args, env=env)
    assert again.exit_code == 0 and "reused re-embedded index" in again.stderr
    # the index itself still holds the stock vectors: plain evaluation runs without a rebuild
    plain = runner.invoke(app, ["eval", "retrieval", "--set", str(questions), "--json"], env=env)
    assert plain.exit_code == 0, plain.stderr
    missing = runner.invoke(app, ["eval", "retrieval", "--set", str(questions),
                                  "--compare-embeddings", "absent"], env=env)  # fmt: skip
    assert missing.exit_code == 2 and "No bi encoder named 'absent'" in missing.stderr


def test_compare_embeddings_on_a_corpus_gets_an_evaluation_index_of_its_own(
    tmp_path: Path,
) -> None:
    corpus = _flu_and_statin(tmp_path / "c.jsonl")
    questions = tmp_path / "s.jsonl"
    questions.write_text('{"id": "q", "question": "Does the flu shot help older people?", '
                         '"relevant": ["t:flu"]}\n')  # fmt: skip
    home = tmp_path / "home"
    stock_model_folder(load_settings(home=home).models_dir, "bi", kind="bi-encoder")
    result = runner.invoke(app, ["eval", "retrieval", "--set", str(questions), "--corpus",
                                 str(corpus), "--compare-embeddings", "bi", "--json"],
                           env={"PRESS_HOME": str(home)})  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("built evaluation index") == 2
    assert len(list((home / "eval-indexes").iterdir())) == 2
    assert "bi" in result.stderr and json.loads(result.stdout)["methods"]["fused"]["hit@1"] == 1


def test_half_scores_only_that_half_of_the_set(tmp_path: Path) -> None:
    from pipeline.train.data import half_of

    corpus = _flu_and_statin(tmp_path / "c.jsonl")
    ids = [f"q{i}" for i in range(8)]
    questions = tmp_path / "s.jsonl"
    questions.write_text("".join(
        json.dumps({"id": i, "question": "flu vaccination?", "relevant": ["t:flu"]}) + "\n"
        for i in ids
    ))  # fmt: skip
    env = {"PRESS_HOME": str(tmp_path / "home")}
    args = ["eval", "retrieval", "--set", str(questions), "--corpus", str(corpus), "--json"]
    for half in ("A", "B"):
        result = runner.invoke(app, [*args, "--half", half], env=env)
        assert result.exit_code == 0, result.stderr
        expected = sum(half_of(i) == half for i in ids)
        assert 0 < expected < len(ids)
        assert json.loads(result.stdout)["n_questions"] == expected
    bad = runner.invoke(app, [*args, "--half", "C"], env=env)
    assert bad.exit_code == 2 and "--half must be A or B" in bad.stderr
