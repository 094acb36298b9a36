"""``press schedule``: a crontab line and a systemd service + timer that run a build nightly.

Everything is absolute — the ``press`` executable of this installation, the working
directory, the manifest — so the text installs as is: paste the line into ``crontab -e``,
or save the two units under ``/etc/systemd/system/`` (or ``~/.config/systemd/user/``) and
``systemctl enable --now press-build-NAME.timer``. Each run writes its JSON report and a
JSON-lines log under ``<workdir>/outputs/builds/``. Environment that configures the build
(``PRESS_*``, ``OPENAI_BASE_URL``; never an API key) is copied into the service unit;
keep secrets in an ``EnvironmentFile=``. A run that finds another build holding the lock
exits 75 (:class:`pipeline.errors.BuildBusyError`); the service lists it in
``SuccessExitStatus=`` so a skipped night is not a failed unit.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import BuildBusyError, ConfigError

_SECRET = ("KEY", "TOKEN", "SECRET", "PASSWORD")


@dataclass(frozen=True)
class Schedule:
    """The three texts and the names to install them under."""

    crontab: str
    service_name: str
    service: str
    timer_name: str
    timer: str


def press_executable() -> Path:
    """The absolute path of the running ``press`` (else the one on PATH)."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "press" and argv0.is_file() and os.access(argv0, os.X_OK):
        return argv0.absolute()
    beside = Path(sys.executable).parent / "press"  # the venv's, when PATH lacks it
    found = shutil.which("press") or (str(beside) if beside.is_file() else None)
    if found is None:
        raise ConfigError(
            "Cannot find the `press` executable",
            "Run `press schedule` from the installed command (e.g. .venv/bin/press).",
        )
    return Path(found).absolute()


def _environment() -> dict[str, str]:
    keep = {
        k: v
        for k, v in os.environ.items()
        if (k.startswith("PRESS_") or k == "OPENAI_BASE_URL")
        and not any(word in k for word in _SECRET)
    }
    return dict(sorted(keep.items()))


def _systemd_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def make_schedule(name: str, manifest: Path, at: str, workdir: Path | None = None) -> Schedule:
    """Texts that run ``press build MANIFEST`` daily at ``at`` (HH:MM, local time)."""
    hour, minute = (int(part) for part in at.split(":"))
    workdir = (workdir or Path.cwd()).absolute()
    press = press_executable()
    manifest = manifest.absolute()
    logs = workdir / "outputs" / "builds"
    args = [str(press), "build", str(manifest), "--json",
            "--report", str(logs / f"{name}-last.json"),
            "--log-jsonl", str(logs / f"{name}.jsonl")]  # fmt: skip
    command = " ".join(shlex.quote(a) for a in args)
    # cron treats % as a newline; none of our paths may contain one unescaped.
    cron_command = command.replace("%", "\\%")
    env = _environment()
    cron_env = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    crontab = (
        f"{minute} {hour} * * * cd {shlex.quote(str(workdir))} && "
        + f"mkdir -p {shlex.quote(str(logs))} && "
        + (f"{cron_env} " if cron_env else "")
        + f"{cron_command} >/dev/null 2>>{shlex.quote(str(logs / f'{name}.err'))}"
    )
    unit = f"press-build-{name}"
    environment = "".join(f"Environment={_systemd_quote(f'{k}={v}')}\n" for k, v in env.items())
    exec_start = " ".join(_systemd_quote(a) if " " in a else a for a in args)
    service = (
        "[Unit]\n"
        f"Description=Evidence Press build ({name})\n"
        "After=network-online.target\n"
        "Wants=network-online.target\n\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"WorkingDirectory={workdir}\n"
        f"{environment}"
        f"ExecStartPre={shutil.which('mkdir') or '/bin/mkdir'} -p {logs}\n"
        f"ExecStart={exec_start}\n"
        # exit 75 = another build holds the lock (BuildBusyError): a skipped run, not a
        # failure. Exit 1 = some questions failed: the unit fails and shows in
        # `systemctl --failed`.
        f"SuccessExitStatus={BuildBusyError.exit_code}\n"
    )
    timer = (
        "[Unit]\n"
        f"Description=Run the Evidence Press build ({name}) daily at {at}\n\n"
        "[Timer]\n"
        f"OnCalendar=*-*-* {hour:02d}:{minute:02d}:00\n"
        "Persistent=true\n"
        f"Unit={unit}.service\n\n"
        "[Install]\n"
        "WantedBy=timers.target\n"
    )
    return Schedule(crontab, f"{unit}.service", service, f"{unit}.timer", timer)
