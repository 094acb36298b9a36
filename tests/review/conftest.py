"""``flow`` for the editorial-integrity tests: a staffed store plus an author and an editor.

Modules that define their own ``flow`` (test_workflow.py, test_follow_up.py, ...) override it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.review.machine import Role
from pipeline.review.workflow import Workflow
from pipeline.store.db import Store
from tests.support.review_factories import staffed


@pytest.fixture
def flow(tmp_path: Path) -> Workflow:
    workflow = staffed(Store(f"sqlite:///{tmp_path / 'press.sqlite'}"))
    workflow.add_user("bea", [Role.AUTHOR], by="ada")
    workflow.add_user("ed", [Role.EDITOR], by="ada")
    return workflow
