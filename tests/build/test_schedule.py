"""`press schedule`: a crontab line and systemd units that install as they are."""

from __future__ import annotations

import configparser
import os
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.build.schedule import make_schedule
from pipeline.cli.app import app
from pipeline.errors import BuildBusyError
from tests.build.helpers import write_manifest


def _units(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return parser


def test_units_and_crontab_are_absolute_and_runnable(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path, name="nightly.yaml")
    plan = make_schedule("nightly", Path("nightly.yaml"), "03:15", workdir=tmp_path)

    service = _units(plan.service)
    exec_start = shlex.split(service["Service"]["ExecStart"])
    press = Path(exec_start[0])
    assert press.is_absolute() and press.is_file() and os.access(press, os.X_OK)
    assert exec_start[1:3] == ["build", str(manifest)]
    assert Path(service["Service"]["WorkingDirectory"]) == tmp_path
    assert service["Service"]["Type"] == "oneshot"
    assert Path(shlex.split(service["Service"]["ExecStartPre"])[0]).is_file()

    timer = _units(plan.timer)
    assert timer["Timer"]["OnCalendar"] == "*-*-* 03:15:00"
    assert timer["Timer"]["Unit"] == plan.service_name == "press-build-nightly.service"
    assert timer["Install"]["WantedBy"] == "timers.target"

    fields = plan.crontab.split(maxsplit=5)
    assert fields[:5] == ["15", "3", "*", "*", "*"]
    command = shlex.split(fields[5])
    assert command[:2] == ["cd", str(tmp_path)]
    assert str(press) in command and str(manifest) in command


def test_a_busy_build_is_a_skip_for_systemd_but_a_failed_build_is_not(tmp_path: Path) -> None:
    """Exit 75 (another build holds the lock) must not mark the unit failed; exit 1 must."""
    write_manifest(tmp_path, name="nightly.yaml")
    plan = make_schedule("nightly", Path("nightly.yaml"), "03:15", workdir=tmp_path)
    success = _units(plan.service)["Service"].get("SuccessExitStatus", "").split()
    assert success == [str(BuildBusyError.exit_code)] == ["75"]


def test_environment_is_copied_but_never_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mp = monkeypatch
    mp.setenv("PRESS_STORE__URL", "sqlite:////srv/press/press.sqlite")
    mp.setenv("PRESS_LLM__API_KEY", "sk-secret")
    plan = make_schedule("n", tmp_path / "m.yaml", "02:30", workdir=tmp_path)
    service = _units(plan.service)
    assert "PRESS_STORE__URL=sqlite:////srv/press/press.sqlite" in plan.service
    assert "Environment" in service["Service"]
    assert "sk-secret" not in plan.service + plan.crontab


def test_cli_prints_all_three_and_rejects_bad_times(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path, schedule_at="04:05")
    result = CliRunner().invoke(app, ["schedule", str(manifest)])
    assert result.exit_code == 0, result.output
    assert "5 4 * * *" in result.output
    assert "[Timer]" in result.output and "[Service]" in result.output
    result = CliRunner().invoke(app, ["schedule", str(manifest), "--at", "24:00"])
    assert result.exit_code == 2
    result = CliRunner().invoke(app, ["schedule", str(manifest), "--at", "23:59", "--json"])
    assert result.exit_code == 0
    assert "59 23 * * *" in result.output
