"""Evaluation reports: the JSON file and a self-contained HTML page with plots.

Design
------
* **JSON** is the report model's ``model_dump(mode="json")``, two-space indented, written
  atomically (a ``.partial`` file renamed into place) so a crashed run never leaves half a
  report for a later ``--compare`` to read.
* **HTML** is rendered from that same JSON-shaped dict, so a report file on disk can be
  re-rendered later, by ``pipeline/templates/eval_report.html.j2`` (``report/`` in the one
  Jinja2 environment, :mod:`pipeline.templating`; ``.html``, so autoescaped): every
  question, id and bullet text is escaped. The only markup passed through is the article
  body, which :func:`pipeline.article.render.to_html_fragment` already sanitized and which is
  sanitized again here (:func:`pipeline.article.render.sanitize_html`) because a JSON file may
  have been edited. The page carries a Content-Security-Policy that forbids scripts and
  allows images only as ``data:`` URIs.
* **Plots** are PNGs drawn with matplotlib's object API on the Agg canvas (no ``pyplot``
  global state, no display needed), embedded as base64 ``data:`` URIs, saved without the
  software/date metadata so the same numbers give the same bytes.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from markupsafe import Markup
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from pydantic import BaseModel

from pipeline import atomic
from pipeline.article.render import sanitize_html
from pipeline.errors import EvalSetError
from pipeline.templating import environment

__all__ = ["Plot", "load_report", "plots_for", "render_html", "write_json", "write_reports"]

RANK_METRICS = ("recall@k", "hit@1", "hit@k", "mrr@10", "ndcg@10")
ARTICLE_METRICS = (
    "citation_validity",
    "citation_support",
    "structure_compliance",
    "verdict_agreement",
    "abstention_correct",
    "false_abstention_rate",
    "evidence_recall",
)
_COLOURS = ("#0550ae", "#bc4c00", "#1a7f37", "#8250df", "#9a6700")

Plot = tuple[str, str]
"""A plot's caption and its ``data:image/png;base64,…`` URI."""


def _png(fig: Figure) -> str:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _bars(
    title: str,
    groups: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    ylabel: str,
    ylim: tuple[float, float] | None = None,
) -> str:
    fig = Figure(figsize=(7.5, 3.4), layout="constrained")
    ax = fig.add_subplot()
    width = 0.8 / max(len(series), 1)
    for i, (name, values) in enumerate(series.items()):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        heights = [v if v is not None else 0.0 for v in values]
        bars = ax.bar(xs, heights, width, label=name, color=_COLOURS[i % len(_COLOURS)])
        labels = ["n/a" if v is None else f"{v:.2f}" for v in values]
        ax.bar_label(bars, labels=labels, fontsize=7, padding=1)
    ax.set_xticks(range(len(groups)), list(groups), fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    if ylim:
        ax.set_ylim(*ylim)
    if len(series) > 1:
        ax.legend(fontsize=8, loc="lower right")
    return _png(fig)


def _first_hit_ranks(data: Mapping[str, Any]) -> str:
    methods = list(data["methods"])
    depth = max(
        (len(q["methods"][m]["ranked"]) for q in data["per_question"] for m in methods), default=10
    )
    labels = [str(r) for r in range(1, depth + 1)] + ["miss"]
    series: dict[str, list[float | None]] = {}
    for method in methods:
        counts = [0.0] * (depth + 1)
        for q in data["per_question"]:
            gold = set(q["relevant"])
            ranked = q["methods"][method]["ranked"]
            rank = next((i for i, cid in enumerate(ranked) if cid in gold), depth)
            counts[rank] += 1
        series[method] = list(counts)
    fig = Figure(figsize=(7.5, 3.2), layout="constrained")
    ax = fig.add_subplot()
    width = 0.8 / len(series)
    for i, (name, values) in enumerate(series.items()):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(labels))]
        ax.bar(xs, [v or 0.0 for v in values], width, label=name, color=_COLOURS[i])
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("rank of the first relevant citation")
    ax.set_ylabel("questions")
    ax.set_title("Where the first relevant citation lands", fontsize=10)
    ax.legend(fontsize=8)
    return _png(fig)


def _stage_seconds(data: Mapping[str, Any]) -> str:
    rows = data["per_question"]
    stages = ("retrieve", "draft", "cite", "render")
    fig = Figure(figsize=(7.5, max(2.2, 0.28 * len(rows) + 1.2)), layout="constrained")
    ax = fig.add_subplot()
    left = [0.0] * len(rows)
    ys = list(range(len(rows)))
    for i, stage in enumerate(stages):
        widths = [float(r["timings_s"].get(stage, 0.0)) for r in rows]
        ax.barh(ys, widths, left=left, label=stage, color=_COLOURS[i])
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_yticks(ys, [str(r["id"])[:28] for r in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("seconds")
    ax.set_title("Seconds per question and stage", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    return _png(fig)


def _attribution_plots(data: Mapping[str, Any]) -> list[Plot]:
    sets = data["sets"]
    names = [s["name"] for s in sets]
    rates = {
        "detection (test)": [s["test"]["detection"] for s in sets],
        "false flags (test)": [s["test"]["false_flags"] for s in sets],
    }
    plots = [
        (
            "Test half at each set's margin",
            _bars("Misattribution detection", names, rates, ylabel="share", ylim=(0, 1.12)),
        )
    ]
    for s in sets:
        margins = [f"{m:g}" for m, _, _ in s["sweep"]]
        sweep = {
            "detection": [d for _, d, _ in s["sweep"]],
            "false flags": [f for _, _, f in s["sweep"]],
        }
        plots.append(
            (
                f"{s['name']}: tuning half by margin (chosen {s['margin']:g})",
                _bars(f"{s['name']} tuning half", margins, sweep, ylabel="share", ylim=(0, 1.12)),
            )
        )
    return plots  # fmt: skip


def plots_for(data: Mapping[str, Any]) -> list[Plot]:
    """The plots of a report (retrieval, articles or attribution), as (caption, URI) pairs."""
    if data.get("kind") == "attribution":
        return _attribution_plots(data)
    if data.get("kind") == "articles":
        values = [data["metrics"].get(name) for name in ARTICLE_METRICS]
        parts = data["structure_parts"]
        plots = [
            ("Article metrics (n/a: no question to score)",
             _bars("Article metrics", [m.replace("_", "\n") for m in ARTICLE_METRICS],
                   {"value": values}, ylabel="share", ylim=(0, 1.12))),
            ("Structure: share of articles with each house-format part",
             _bars("House-format parts present", [p.replace("_", "\n") for p in parts],
                   {"share": list(parts.values())}, ylabel="share", ylim=(0, 1.12))),
        ]  # fmt: skip
        if data.get("per_question"):
            plots.append(("Seconds per question and stage", _stage_seconds(data)))
        return plots
    methods = data["methods"]
    quality = {m: [methods[m][key] for key in RANK_METRICS] for m in methods}
    latency = {m: [methods[m]["latency_ms_p50"], methods[m]["latency_ms_p95"]] for m in methods}
    plots = [
        (f"Ranking quality at k={data['k']} over {data['n_questions']} questions",
         _bars("Ranking quality", RANK_METRICS, quality, ylabel="mean", ylim=(0, 1.12))),
        ("Search latency per query (ms)",
         _bars("Latency", ["p50", "p95"], latency, ylabel="ms")),
    ]  # fmt: skip
    if data.get("per_question"):
        plots.append(("Rank of the first relevant citation", _first_hit_ranks(data)))
    return plots


def render_html(data: Mapping[str, Any], *, title: str = "") -> str:
    """The self-contained HTML page of a JSON-shaped report dict."""
    articles = {
        q["id"]: Markup(sanitize_html(q.get("article_html", "")))
        for q in data.get("per_question", [])
        if data.get("kind") == "articles"
    }
    heading = title or f"Evidence Press {data.get('kind', 'retrieval')} evaluation"
    return environment().get_template("report/eval_report.html.j2").render(
        r=data, title=heading, plots=plots_for(data), articles=articles
    )


def write_json(report: BaseModel, path: Path) -> Path:
    """Write a report model as pretty JSON (atomically); returns the path."""
    text = json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    return atomic.write_text(path, text)


def write_reports(
    report: BaseModel, json_path: Path, html_path: Path | None = None
) -> tuple[Path, Path]:
    """Write the JSON report and its HTML page (default: the JSON path with ``.html``)."""
    write_json(report, json_path)
    html = html_path or json_path.with_suffix(".html")
    atomic.write_text(html, render_html(report.model_dump(mode="json")))
    return json_path, html


def load_report(path: Path) -> dict[str, Any]:
    """Read a JSON report written by :func:`write_json` (or any tool using the format)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EvalSetError(
            f"cannot read the report {path}: {exc}",
            "Pass a JSON report written by `press eval retrieval|articles --out`.",
        ) from exc
    if not isinstance(data, dict) or not ({"methods", "metrics", "sets"} & data.keys()):
        raise EvalSetError(
            f"{path} is not an evaluation report (no 'methods' or 'metrics')",
            "Pass a JSON report written by `press eval retrieval|articles --out`.",
        )
    return data
