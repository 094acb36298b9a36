"""Compare two reports metric by metric and decide whether the new one regressed.

Design
------
A regression is a quality metric that got worse by more than its tolerance (absolute,
in the metric's own units); latency and time are printed as deltas but never fail a
comparison, because they depend on the machine. Each metric knows its direction
(``false_abstention_rate`` is better when lower). A metric that is missing or ``None``
(n/a) in either report is shown and skipped. Both reports must be of the same kind
(retrieval: has ``methods``; articles: has ``metrics``). Retrieval reports compare the
methods both reports have; a report's ``k`` differing from the other's is a mismatch,
not a regression, and raises :class:`~pipeline.errors.EvalSetError`.

The CLI exits with code 3 when :func:`compare_reports` finds any regression.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pipeline.errors import EvalSetError

__all__ = ["Delta", "Tolerances", "compare_reports", "regressions"]

_EPSILON = 1e-9  # float noise: a change this small is no change
_RANK = ("recall@k", "hit@1", "hit@k", "mrr@10", "ndcg@10")
_LATENCY = ("latency_ms_p50", "latency_ms_p95")


class Tolerances(BaseModel):
    """Largest allowed drop (absolute) per metric family before a comparison fails."""

    model_config = ConfigDict(extra="forbid")

    retrieval: float = Field(0.02, ge=0, description="recall@k, hit@1, hit@k, MRR@10, nDCG@10.")
    citation_validity: float = Field(0.0, ge=0, description="Share of markers that resolve.")
    citation_support: float = Field(0.05, ge=0, description="Share of supported bullets.")
    structure: float = Field(0.0, ge=0, description="Share of house-format-compliant articles.")
    abstention: float = Field(
        0.0, ge=0, description="Correct abstentions; also the allowed rise in false abstentions."
    )
    verdict: float = Field(0.05, ge=0, description="Verdict agreement.")


class Delta(BaseModel):
    """One metric in both reports, its change, and whether that change is a regression."""

    model_config = ConfigDict(extra="forbid")

    metric: str
    old: float | None
    new: float | None
    delta: float | None
    tolerance: float | None = Field(description="None: informational, never a regression.")
    higher_is_better: bool = True
    regression: bool = False


def _delta(
    metric: str, old: Any, new: Any, tolerance: float | None, higher_is_better: bool = True
) -> Delta:
    if not isinstance(old, int | float) or not isinstance(new, int | float):
        return Delta(metric=metric, old=_num(old), new=_num(new), delta=None, tolerance=tolerance,
                     higher_is_better=higher_is_better)  # fmt: skip
    change = float(new) - float(old)
    worse = -change if higher_is_better else change
    return Delta(
        metric=metric,
        old=float(old),
        new=float(new),
        delta=change,
        tolerance=tolerance,
        higher_is_better=higher_is_better,
        regression=tolerance is not None and worse > tolerance + _EPSILON,
    )


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _kind(report: Mapping[str, Any]) -> str:
    if "methods" in report:
        return "retrieval"
    if "metrics" in report:
        return "articles"
    raise EvalSetError("a report has neither 'methods' nor 'metrics'", "Pass two eval reports.")


def compare_reports(
    old: Mapping[str, Any], new: Mapping[str, Any], tolerances: Tolerances | None = None
) -> list[Delta]:
    """Deltas of every metric the two reports share (see the module docstring)."""
    tol = tolerances or Tolerances()
    kind = _kind(old)
    if _kind(new) != kind:
        raise EvalSetError(
            "cannot compare a retrieval report with an articles report",
            "Compare two reports of the same command.",
        )
    deltas: list[Delta] = []
    if kind == "retrieval":
        if old.get("k") != new.get("k"):
            raise EvalSetError(
                f"the reports use different k ({old.get('k')} vs {new.get('k')})",
                "Re-run the evaluation with the old report's --k.",
            )
        for method, old_m in old["methods"].items():
            new_m = new["methods"].get(method)
            if not isinstance(new_m, Mapping):
                continue
            deltas += [_delta(f"{method}.{key}", old_m.get(key), new_m.get(key), tol.retrieval)
                       for key in _RANK]  # fmt: skip
            deltas += [_delta(f"{method}.{key}", old_m.get(key), new_m.get(key), None, False)
                       for key in _LATENCY]  # fmt: skip
        return deltas
    o, n = old["metrics"], new["metrics"]
    plan: list[tuple[str, float | None, bool]] = [
        ("citation_validity", tol.citation_validity, True),
        ("citation_support", tol.citation_support, True),
        ("structure_compliance", tol.structure, True),
        ("verdict_agreement", tol.verdict, True),
        ("abstention_correct", tol.abstention, True),
        ("false_abstention_rate", tol.abstention, False),
        ("evidence_recall", tol.retrieval, True),
        ("n_errors", None, False),
    ]
    deltas = [_delta(name, o.get(name), n.get(name), t, up) for name, t, up in plan]
    old_t, new_t = old.get("tokens", {}), new.get("tokens", {})
    deltas.append(_delta("tokens_per_article", old_t.get("tokens_per_article"),
                         new_t.get("tokens_per_article"), None, False))  # fmt: skip
    old_s, new_s = old.get("stages_s", {}), new.get("stages_s", {})
    for stage in old_s:
        if stage in new_s:
            deltas.append(_delta(f"seconds.{stage}.mean", old_s[stage].get("mean"),
                                 new_s[stage].get("mean"), None, False))  # fmt: skip
    return deltas


def regressions(deltas: list[Delta]) -> list[Delta]:
    """The deltas that are regressions."""
    return [d for d in deltas if d.regression]
