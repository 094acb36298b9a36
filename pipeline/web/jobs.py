"""Background drafting jobs with visible progress.

Drafting takes seconds (retrieval, the drafter, the citation check), too long to hold a
request open. :class:`Jobs` runs each job on a small thread pool and keeps its state in
memory; the job page polls it (a meta refresh, no script needed; ``/jobs/{id}.json`` for
scripts) and sends the user to the stored draft when it is done. A job's work is a callable
that reports its steps through :meth:`Job.advance` and returns the stored article's slug;
a :class:`~pipeline.errors.PressError` becomes the job's error message and hint. Only the
user who started a job may see it. Jobs are kept for the life of the process.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from pipeline.draft.engine import Stage
from pipeline.errors import PressError

log = logging.getLogger(__name__)

STEPS = (
    "queued",
    "retrieving evidence",
    "drafting",
    "checking citations",
    "storing the draft",
    "done",
)
"""The steps a job goes through, in order (``failed`` can end it at any step)."""

STAGE_STEPS: dict[Stage, int] = {"retrieve": 1, "draft": 2, "cite": 3}
"""The step each stage of :func:`pipeline.draft.engine.draft_article` starts."""
STORING = STEPS.index("storing the draft")


@dataclass
class Job:
    """One drafting request and where it stands."""

    id: str
    owner: str
    question: str
    audience: str
    parent: str | None = None
    state: Literal["running", "done", "failed"] = "running"
    step: int = 0
    slug: str | None = None
    error: str = ""
    hint: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def step_label(self) -> str:
        """The current step in words."""
        return "failed" if self.state == "failed" else STEPS[self.step]

    def advance(self, step: int) -> None:
        """Move to step ``step`` (an index into :data:`STEPS`)."""
        with self._lock:
            self.step = step

    def on_stage(self, stage: Stage) -> None:
        """Follow a drafting stage (pass as ``draft_article(..., on_stage=job.on_stage)``)."""
        self.advance(STAGE_STEPS[stage])

    def as_dict(self) -> dict[str, Any]:
        """The job as JSON-able data (what ``/jobs/{id}.json`` returns)."""
        with self._lock:
            return {
                "id": self.id,
                "state": self.state,
                "step": self.step,
                "steps": len(STEPS) - 1,
                "step_label": self.step_label,
                "question": self.question,
                "audience": self.audience,
                "parent": self.parent,
                "slug": self.slug,
                "error": self.error,
                "hint": self.hint,
            }


Work = Callable[[Job], str]
"""A job's work: takes the job (to report steps), returns the stored article's slug."""


class Jobs:
    """A thread pool running drafting jobs, and the jobs' states by id."""

    def __init__(self, workers: int = 1) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="press-draft")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def submit(
        self, owner: str, question: str, audience: str, work: Work, *, parent: str | None = None
    ) -> Job:
        """Queue ``work`` and return its job at once."""
        job = Job(secrets.token_urlsafe(12), owner, question, audience, parent)
        with self._lock:
            self._jobs[job.id] = job
        self._pool.submit(self._run, job, work)
        return job

    def get(self, job_id: str, owner: str) -> Job | None:
        """The job if it exists and belongs to ``owner``."""
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and job.owner == owner else None

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop taking jobs; with ``wait``, let running ones finish."""
        self._pool.shutdown(wait=wait, cancel_futures=not wait)

    @staticmethod
    def _run(job: Job, work: Work) -> None:
        try:
            job.advance(1)
            slug = work(job)
        except PressError as exc:
            with job._lock:
                job.state, job.error, job.hint = "failed", exc.message, exc.hint
        except Exception as exc:  # a bug must not vanish inside the pool: log it, show it
            log.exception("drafting job %s failed", job.id)
            with job._lock:
                job.state, job.error = "failed", f"Unexpected error: {type(exc).__name__}"
                job.hint = "The server log has the details."
        else:
            with job._lock:
                job.state, job.slug, job.step = "done", slug, len(STEPS) - 1
