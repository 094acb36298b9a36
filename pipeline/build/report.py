"""What a build did: the typed report, its readable summary and the JSON-lines event log.

:class:`BuildReport` is the JSON of ``press build --json`` / ``--report PATH``: counts of
new / changed / unchanged / held / failed questions, one :class:`QuestionRow` each (outcome, why,
revision, status, tokens, cost, seconds), the eval verdict, what was published, and the
wall time. :func:`summary_table` renders it with rich. :class:`EventLog` writes one JSON
object per line (``--log-jsonl``), flushed at once so a killed build's log is complete up
to the kill.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field
from rich.table import Table

Outcome = Literal["new", "changed", "unchanged", "held", "failed"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QuestionRow(_Model):
    """One question's result."""

    question: str
    audience: str
    outcome: Outcome
    reasons: list[str] = Field(
        default_factory=list, description="Why it was drafted: the inputs that changed."
    )
    slug: str | None = None
    revision: str | None = None
    status: str | None = None
    key: str = Field("", description="The cache key's digest.")
    note: str = ""
    error: str = ""
    llm_calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float | None = None
    seconds: float = 0.0


class EvalOutcome(_Model):
    """The eval run after drafting and its comparison with the baseline."""

    set: str
    baseline: str | None
    regressions: list[str] = Field(default_factory=list)
    baseline_written: bool = False
    report: dict[str, Any] = Field(default_factory=dict, description="The metrics block.")


class BuildReport(_Model):
    """The whole build (see the module docstring)."""

    manifest: str
    shard: str | None = None
    dry_run: bool = False
    forced: bool = False
    drafter: str = ""
    corpus_version: str = ""
    settings_hash: str = ""
    started_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    seconds: float = 0.0
    counts: dict[str, int] = Field(default_factory=dict)
    tokens_in: int = 0
    tokens_out: int = 0
    llm_calls: int = 0
    cost: float | None = None
    questions: list[QuestionRow] = Field(default_factory=list)
    eval: EvalOutcome | None = None
    published: list[str] = Field(default_factory=list)
    publish_blocked: str = ""
    exit_code: int = 0

    def total(self) -> None:
        """Fill counts, token totals and cost from the rows."""
        self.counts = {o: 0 for o in ("new", "changed", "unchanged", "held", "failed")}
        for row in self.questions:
            self.counts[row.outcome] += 1
        self.tokens_in = sum(r.tokens_in for r in self.questions)
        self.tokens_out = sum(r.tokens_out for r in self.questions)
        self.llm_calls = sum(r.llm_calls for r in self.questions)
        costs = [r.cost for r in self.questions if r.cost is not None]
        self.cost = round(sum(costs), 6) if costs else None

    @property
    def failed(self) -> list[QuestionRow]:
        """The rows that failed."""
        return [r for r in self.questions if r.outcome == "failed"]


def summary_table(report: BuildReport) -> Table:
    """A rich table: one row per question, the totals in the caption."""
    title = "Build plan (dry run)" if report.dry_run else "Build"
    table = Table(
        title=f"{title}: {report.manifest}" + (f" shard {report.shard}" if report.shard else "")
    )
    for column in ("outcome", "audience", "question", "revision", "status", "tokens", "note"):
        # The question is the widest column: one line each, cut with an ellipsis.
        wide = column == "question"
        table.add_column(column, no_wrap=wide, overflow="ellipsis" if wide else "fold",
                         ratio=3 if wide else None)  # fmt: skip
    colours = {
        "new": "green", "changed": "yellow", "unchanged": "dim", "held": "cyan", "failed": "red"
    }
    for row in report.questions:
        table.add_row(
            f"[{colours[row.outcome]}]{row.outcome}[/]",
            row.audience,
            row.question,
            row.revision or "",
            row.status or "",
            f"{row.tokens_in}/{row.tokens_out}" if row.llm_calls else "",
            row.error or row.note or ", ".join(row.reasons),
        )
    c = report.counts
    cost = "" if report.cost is None else f" · cost {report.cost:.4f}"
    table.caption = (
        f"{c.get('new', 0)} new · {c.get('changed', 0)} changed · "
        f"{c.get('unchanged', 0)} unchanged · {c.get('held', 0)} held · "
        f"{c.get('failed', 0)} failed · "
        f"{report.llm_calls} LLM calls · tokens in/out {report.tokens_in}/{report.tokens_out}"
        f"{cost} · {report.seconds:.1f} s"
    )
    return table


class EventLog:
    """JSON-lines events (``{"at", "event", ...}``), one per line, flushed per event."""

    def __init__(self, path: Path | None) -> None:
        self._file: TextIO | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def __call__(self, event: str, **data: Any) -> None:
        """Append one event (no-op without a path)."""
        if self._file is None:
            return
        record = {"at": datetime.now(UTC).isoformat(timespec="milliseconds"), "event": event}
        line = json.dumps({**record, **data}, default=str)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        """Close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None
