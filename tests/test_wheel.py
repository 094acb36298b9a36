"""The built wheel carries every file the program reads at run time.

Two views, because each catches what the other cannot:

* **What the repository ships**: every file git tracks under ``pipeline/``, ``prompts/`` and
  ``corpus/demo/`` must be in the wheel at its packaged path (a new template or static
  file added to the package is covered without anyone listing it).
* **What the program opens**: the installed-product smoke flow (:mod:`tests.smoke.installed_wheel`:
  ingest, drafts with and without the LLM, the review workflow, publish, site build, the desk's
  login → queue → article and its static files, an eval report) runs against the checkout with
  an audit hook in every ``press`` process recording the files it opens. Every one of them
  under the checkout must map to a file in the wheel, so a template read from a new place, or a
  folder the build does not map, fails here before a user's install does.

The second test is also the checkout half of "the same smoke test under the wheel and under
the checkout"; ``.ci/run`` runs the wheel half after the suite.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.smoke.installed_wheel import DEMO_SET, run

REPO = Path(__file__).resolve().parents[1]
RECORDER = REPO / "tests" / "smoke" / "open_recorder"
# Top-level folders the build maps into the package (pyproject.toml, force-include).
MAPPED = {"prompts": "pipeline/assets/prompts", "corpus/demo": "pipeline/assets/demo"}

pytestmark = pytest.mark.slow


def packaged_path(relative: str) -> str | None:
    """Where a checkout file lands in the wheel (``None``: it is not meant to ship)."""
    if relative.startswith("pipeline/"):
        return relative
    for folder, target in MAPPED.items():
        if relative.startswith(folder + "/"):
            return target + relative.removeprefix(folder)
    return None


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The file names inside a wheel freshly built from the checkout."""
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_packaged_path_maps_the_top_level_folders() -> None:
    assert packaged_path("prompts/draft_article.md") == "pipeline/assets/prompts/draft_article.md"
    assert packaged_path("corpus/demo/covid19.jsonl") == "pipeline/assets/demo/covid19.jsonl"
    assert packaged_path("pipeline/web/static/desk.css") == "pipeline/web/static/desk.css"
    assert packaged_path("evals/sets/demo.jsonl") is None


@pytest.mark.skipif(shutil.which("git") is None, reason="git is needed to list tracked files")
def test_wheel_ships_every_tracked_package_file(wheel_files: set[str]) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "pipeline", *MAPPED],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    if not listed:
        pytest.skip("not a git checkout")
    expected = {packaged_path(name) for name in listed}
    missing = sorted(str(p) for p in expected - wheel_files if p is not None)
    assert not missing, f"tracked files missing from the wheel: {missing}"
    assert "pipeline/assets/prompts/draft_article.md" in wheel_files


def test_every_file_the_program_opens_is_in_the_wheel(
    wheel_files: set[str], tmp_path: Path
) -> None:
    press = Path(sys.executable).with_name("press")
    if not press.is_file():
        pytest.skip(f"no press executable beside {sys.executable}")
    log = tmp_path / "opened.txt"
    work = tmp_path / "work"
    work.mkdir()
    env = {"PYTHONPATH": str(RECORDER), "PRESS_OPEN_LOG": str(log), "PRESS_OPEN_ROOT": str(REPO)}
    run(press, work, extra_env=env)

    opened = {Path(line).relative_to(REPO).as_posix() for line in log.read_text().split()}
    ignored = (".venv/", "tests/", f"{DEMO_SET.relative_to(REPO).as_posix()}")
    # Bytecode is compiled from the shipped modules at install time.
    runtime = {p for p in opened if not p.startswith(ignored) and "/__pycache__/" not in p}
    # The flow really exercised the kinds of files the wheel must carry.
    for kind in (
        "pipeline/web/templates/",
        "pipeline/web/static/",
        "pipeline/templates/site/",
        "prompts/",
        "corpus/demo/",
        "pipeline/assets/minilm/",
    ):
        assert any(p.startswith(kind) for p in runtime), f"the smoke flow opened no {kind} file"
    unshipped = sorted(p for p in runtime if packaged_path(p) not in wheel_files)
    assert not unshipped, f"opened at run time but not in the wheel: {unshipped}"
    assert os.path.getsize(log) > 0
