"""The layout: a package's ``__init__`` documents it and holds no code (issue 14).

Classes, functions and re-exports live in modules named after what they do, so an import
names the module that defines the name. PACKAGES lists the packages converted so far; the
lead extends it as the other sub-packages land.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGES = ["pipeline.build", "pipeline.cite", "pipeline.review", "pipeline.store"]


@pytest.mark.parametrize("package", PACKAGES)
def test_a_package_init_is_a_docstring_only(package: str) -> None:
    source = Path(importlib.import_module(package).__file__ or "").read_text(encoding="utf-8")
    body = ast.parse(source).body
    assert body, f"{package}/__init__.py has no docstring"
    assert isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
    assert [type(node).__name__ for node in body[1:]] == []
