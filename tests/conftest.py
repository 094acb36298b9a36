"""Shared test fixtures: paths to ``../shared/data`` and isolation of every run under tmp_path."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pipeline.index.hybrid import Index
from pipeline.settings.load import Settings
from tests.support.demo_index import shared_demo_index

if TYPE_CHECKING:  # imported as a plugin below; importing it first defeats assert rewriting
    from tests.support.shared_home import SharedHomes

pytest_plugins = [
    "tests.support.fixtures",
    "tests.support.tally",
    "tests.support.press_cli",
    "tests.support.postgres",
    "tests.support.shared_home",
    "pytester",
]

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """The real data folder beside the repo; the test is skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data not found at {SHARED_DATA}; real-data tests need it")
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo(
    tmp_path_factory: pytest.TempPathFactory, shared_homes: SharedHomes
) -> tuple[Settings, Index]:
    """Settings and an index holding the shipped demo corpus (built once per session).

    Read-only for tests: the shared-home guard fails a test that writes into it.
    """
    # Under xdist the base temp folder is per worker; its parent is the run's.
    xdist = os.environ.get("PYTEST_XDIST_WORKER") is not None
    run_dir = tmp_path_factory.getbasetemp().parent if xdist else tmp_path_factory.getbasetemp()
    settings, index = shared_demo_index(run_dir, tmp_path_factory.mktemp("demo") / "home")
    shared_homes.register(settings.home)
    return settings, index


@pytest.fixture
def demo_private_home(demo: tuple[Settings, Index], tmp_path: Path) -> tuple[Settings, Index]:
    """The shared demo index (read it only) with settings whose home and outputs are the test's.

    For tests that draft through the API with an LLM: drafting writes the endpoint's mode
    memory (``llm_modes.json``) into the home, which must not be the shared one.
    """
    settings, index = demo
    update = {"home": tmp_path / "own-home", "outputs": tmp_path / "outputs"}
    return settings.model_copy(update=update), index


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point every project path at tmp_path so no test reads or writes the user's data."""
    home = tmp_path / "press-home"
    home.mkdir()
    monkeypatch.setenv("PRESS_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "PRESS_LLM__BASE_URL", "PRESS_LLM__MODEL"):
        monkeypatch.delenv(name, raising=False)
    yield home
