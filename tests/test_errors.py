"""The error tree (``pipeline/errors.py``): one home, documented, one mapping for CLI and desk.

Each class carries its own ``exit_code`` (what ``press`` exits with) and ``http_status``
(what the review desk answers); these tests pin the tree's shape and the codes, and check
that the CLI and the desk read the class instead of keeping tables of their own.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient

import pipeline
from pipeline import errors
from pipeline.cli.common import handled
from pipeline.errors import ControlFlow, PressError
from pipeline.settings.load import load_settings
from pipeline.store.db import Store
from pipeline.web.app import create_app

PACKAGE = Path(pipeline.__file__).parent


def _tree(root: type[PressError] = PressError) -> Iterator[type[PressError]]:
    """``root`` and every subclass below it (a class with two parents appears once)."""
    seen: set[type[PressError]] = set()
    stack = [root]
    while stack:
        cls = stack.pop()
        if cls not in seen:
            seen.add(cls)
            yield cls
            stack.extend(cls.__subclasses__())


def _exception_names() -> set[str]:
    return {
        name
        for name, obj in vars(errors).items()
        if inspect.isclass(obj) and issubclass(obj, BaseException)
    } | {"Exception", "BaseException"}


def test_no_exception_class_is_defined_outside_errors_py() -> None:
    known = _exception_names()
    outside = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef):
                continue
            bases = {
                base.id if isinstance(base, ast.Name) else getattr(base, "attr", "")
                for base in node.bases
            }
            if bases & known or any(b.endswith(("Error", "Exception")) for b in bases):
                outside.append(f"{path.relative_to(PACKAGE)}: {node.name}")
    assert outside == [], "exception classes belong in pipeline/errors.py"


def _documented_codes(tree: str, name: str) -> tuple[int, int]:
    """The two code columns of ``name``'s entry in the docstring tree (it may wrap)."""
    lines = tree.splitlines()
    start = next(i for i, line in enumerate(lines) if re.search(rf"[─ ]{name} ", line))
    for line in lines[start:]:
        found = re.search(r"(\d+)\s+(\d+)\s*$", line)
        if found:
            return int(found.group(1)), int(found.group(2))
    raise AssertionError(f"no codes for {name}")


def test_every_error_class_is_in_the_docstring_tree_with_its_codes() -> None:
    doc = errors.__doc__ or ""
    tree = doc.split("::", 1)[1].split("\n\n", 2)[1]
    classes = list(_tree())
    assert len(classes) > 20
    for cls in classes:
        assert cls.__module__ == "pipeline.errors", cls
        assert re.search(rf"[─ ]{cls.__name__} ", tree), f"{cls.__name__} is not in the tree"
        assert cls.__dict__.get("__doc__"), f"{cls.__name__} has no docstring of its own"
        assert isinstance(cls.exit_code, int) and cls.exit_code in (1, 2, 75), cls
        assert isinstance(cls.http_status, int) and 400 <= cls.http_status < 600, cls
        documented = _documented_codes(tree, cls.__name__)
        assert documented == (cls.exit_code, cls.http_status), cls.__name__
    # the docstring says what every code used means
    meanings = doc.split("::", 1)[1].split("\n\n", 2)[2]
    for code in {c.exit_code for c in classes} | {c.http_status for c in classes}:
        assert re.search(rf"\b{code} ", meanings), f"the docstring does not explain {code}"


def test_control_flow_signals_are_not_errors() -> None:
    """A signal must never be swallowed by an ``except PressError`` (jobs, routes, the CLI)."""
    signals = [
        obj
        for obj in vars(errors).values()
        if inspect.isclass(obj)
        and issubclass(obj, BaseException)
        and not issubclass(obj, PressError)
    ]
    assert {s.__name__ for s in signals} == {"ControlFlow", "LoginRequired", "ModeRejected"}
    for signal in signals:
        assert issubclass(signal, ControlFlow) and signal.__doc__
        assert signal.__name__ in (errors.__doc__ or "")


EXPECTED = {
    # name: (exit code, HTTP status)
    "PressError": (1, 500),
    "ConfigError": (2, 500),
    "InputError": (2, 422),
    "EvalSetError": (2, 422),
    "BusyError": (75, 503),
    "BuildBusyError": (75, 503),
    "IndexBusyError": (75, 503),
    "LoadError": (1, 422),
    "UnknownFormatError": (1, 422),
    "IndexError_": (1, 500),
    "RetrievalError": (1, 500),
    "PromptError": (1, 500),
    "DraftError": (1, 502),
    "DraftFailed": (1, 502),
    "RenderError": (1, 500),
    "EditError": (1, 422),
    "PublishError": (1, 500),
    "UnapprovedEntryError": (1, 409),
    "UnsafeSlugError": (1, 422),
    "StoreError": (1, 500),
    "NotFoundError": (1, 404),
    "ConcurrentUpdateError": (1, 409),
    "ReviewError": (1, 400),
    "InvalidTransition": (1, 409),
    "PermissionDenied": (1, 403),
}


def test_each_class_has_the_documented_codes() -> None:
    actual = {cls.__name__: (cls.exit_code, cls.http_status) for cls in _tree()}
    assert actual == EXPECTED


def test_busy_errors_can_be_caught_as_one() -> None:
    assert issubclass(errors.IndexBusyError, errors.BusyError)
    # ``except IndexError_`` around index writes keeps catching it
    assert issubclass(errors.IndexBusyError, errors.IndexError_)
    assert issubclass(errors.BuildBusyError, errors.BusyError)


@pytest.mark.parametrize("cls", list(_tree()), ids=lambda c: c.__name__)
def test_the_cli_exits_with_the_class_exit_code(cls: type[PressError]) -> None:
    with pytest.raises(typer.Exit) as info, handled():
        raise _instance(cls)
    assert info.value.exit_code == cls.exit_code


def _instance(cls: type[PressError]) -> PressError:
    if cls is errors.DraftFailed:
        return errors.DraftFailed("boom", "fix it", ["no verdict"])
    return cls("boom", "fix it")


@pytest.fixture(scope="module")
def raising_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A desk app with one extra route that raises the named error class."""
    tmp = tmp_path_factory.mktemp("desk")
    settings = load_settings(
        home=tmp / "home", outputs=tmp / "outputs", web={"secret_key": "k" * 40}
    )
    store = Store.from_settings(settings)
    app: FastAPI = create_app(settings, store=store, index_factory=_no_index, use_llm=False)
    by_name = {cls.__name__: cls for cls in _tree()}

    def boom(name: str) -> None:
        raise _instance(by_name[name])

    app.add_api_route("/boom/{name}", boom)
    with TestClient(app, follow_redirects=False) as client:
        yield client
    store.close()


def _no_index() -> pipeline.index.hybrid.Index:
    raise AssertionError("no index here")


@pytest.mark.parametrize("cls", list(_tree()), ids=lambda c: c.__name__)
def test_the_desk_answers_with_the_class_http_status(
    raising_app: TestClient, cls: type[PressError]
) -> None:
    response = raising_app.get(f"/boom/{cls.__name__}")
    assert response.status_code == cls.http_status
    assert "boom" in response.text and "fix it" in response.text


def test_a_server_problem_is_not_called_a_refusal(raising_app: TestClient) -> None:
    assert "<title>Refused" not in raising_app.get("/boom/ConfigError").text
    assert "Refused" in raising_app.get("/boom/ReviewError").text


def test_the_desk_keeps_no_status_table_of_its_own() -> None:
    source = (PACKAGE / "web").rglob("*.py")
    for path in source:
        text = path.read_text(encoding="utf-8")
        assert "_STATUS" not in text and "error_status" not in text, path
        assert "isinstance(exc, ConcurrentUpdateError)" not in text, path


def test_build_lock_busy_is_its_own_class(tmp_path: Path) -> None:
    from pipeline.build.lock import build_lock
    settings = load_settings(home=tmp_path / "home", outputs=tmp_path / "outputs")
    store = Store.from_settings(settings)
    try:
        with build_lock(store), pytest.raises(errors.BuildBusyError) as info, build_lock(store):
            pass
    finally:
        store.close()
    assert info.value.exit_code == 75 and not isinstance(info.value, errors.ConfigError)
    assert "Another build is running" in info.value.message


def test_an_empty_question_is_bad_input_not_configuration(tmp_path: Path) -> None:
    from pipeline.draft.engine import draft_article
    settings = load_settings(home=tmp_path / "home", outputs=tmp_path / "outputs")
    with pytest.raises(errors.InputError) as info:
        draft_article("   ", settings=settings, index=None, use_llm=False)  # type: ignore[arg-type]
    assert not isinstance(info.value, errors.ConfigError) and info.value.hint


def test_an_empty_follow_up_question_is_bad_input(tmp_path: Path) -> None:
    from pipeline.review.follow_up import draft_follow_up
    from pipeline.review.workflow import Workflow
    settings = load_settings(home=tmp_path / "home", outputs=tmp_path / "outputs")
    store = Store.from_settings(settings)
    try:
        with pytest.raises(errors.InputError):
            draft_follow_up(settings, Workflow(store), None, "any", " \n ", "ann")  # type: ignore[arg-type]
    finally:
        store.close()
