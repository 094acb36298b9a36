"""The store is the bottom layer: no module of it imports a later stage, even lazily."""

from __future__ import annotations

import ast
from pathlib import Path

import pipeline.store

LATER_STAGES = (
    "pipeline.api",
    "pipeline.article",
    "pipeline.build",
    "pipeline.cite",
    "pipeline.cli",
    "pipeline.draft",
    "pipeline.evaluate",
    "pipeline.publish",
    "pipeline.retrieve",
    "pipeline.review",
    "pipeline.web",
)


def imported_modules(path: Path) -> set[str]:
    """Every module an import statement in ``path`` names, wherever the statement sits."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_no_store_module_imports_a_later_stage() -> None:
    folder = Path(pipeline.store.__file__).parent
    reaching_up = {
        f"{path.name}: {module}"
        for path in sorted(folder.glob("*.py"))
        for module in imported_modules(path)
        if module.startswith(LATER_STAGES)
    }
    assert not reaching_up
