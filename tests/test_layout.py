"""The layout: a package's ``__init__`` documents it and holds no code (issue 14), and the
store is the bottom layer: no module of it imports a later stage, even lazily.

Classes, functions and re-exports live in modules named after what they do, so an import
names the module that defines the name. PACKAGES is every sub-package of ``pipeline`` (found
on disk, so a new one is checked without being listed); the top-level ``pipeline/__init__.py``
keeps ``__version__`` only.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import pipeline.store

PACKAGES = sorted(
    ".".join(init.parent.relative_to(Path(pipeline.store.__file__).parents[2]).parts)
    for init in Path(pipeline.store.__file__).parents[1].rglob("*/__init__.py")
)


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


TESTS = Path(__file__).resolve().parent
PIPELINE = Path(pipeline.store.__file__).resolve().parents[1]
# Suites that test the whole program, not one module, and test support code.
CROSS_CUTTING = {"bench", "data", "e2e", "fuzz", "reliability", "security", "smoke", "support"}
NAMES_NO_MODULE = {
    "test_layout.py": "the layout of the package itself",
    "test_wheel.py": "the built wheel",
    "web/test_xss.py": "XSS payloads through every page of the desk",
}
def mirrored_module(test_file: Path) -> Path | None:
    """The module (or package) ``tests/a/test_b[_aspect].py`` tests: ``pipeline/a/b.py``."""
    folder = PIPELINE.joinpath(*test_file.relative_to(TESTS).parent.parts)
    words = test_file.stem.removeprefix("test_").split("_")
    for end in range(len(words), 0, -1):
        name = "_".join(words[:end])
        for candidate in (folder / f"{name}.py", folder / name / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def test_every_test_file_names_the_module_it_tests() -> None:
    misnamed = []
    for test_file in sorted(TESTS.rglob("test_*.py")):
        relative = test_file.relative_to(TESTS).as_posix()
        if relative.split("/")[0] in CROSS_CUTTING or relative in NAMES_NO_MODULE:
            continue
        if mirrored_module(test_file) is None:
            misnamed.append(relative)
    assert misnamed == [], "tests of pipeline/a/b.py live in tests/a/test_b[_aspect].py"
