"""The layout: a package's ``__init__`` documents it and holds no code (issue 14), and the
store is the bottom layer: no module of it imports a later stage, even lazily.

Classes, functions and re-exports live in modules named after what they do, so an import
names the module that defines the name. PACKAGES lists the packages converted so far; the
lead extends it as the other sub-packages land.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import pipeline.store

PACKAGES = ["pipeline.build", "pipeline.cite", "pipeline.review", "pipeline.store"]


@pytest.mark.parametrize("package", PACKAGES)
def test_a_package_init_is_a_docstring_only(package: str) -> None:
    source = Path(importlib.import_module(package).__file__ or "").read_text(encoding="utf-8")
    body = ast.parse(source).body
    assert body, f"{package}/__init__.py has no docstring"
    assert isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
    assert [type(node).__name__ for node in body[1:]] == []


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
