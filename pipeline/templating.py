"""The one Jinja2 environment: every template the program renders is loaded and escaped here.

Design
------
Articles (Markdown and HTML), the static site (HTML, Atom, sitemap), the evaluation report and
the review desk all render through :func:`environment`. A template is named
``<namespace>/<file>``; :data:`FOLDERS` maps each namespace to its folders, so templates can
move between folders without a caller changing a name:

``article``  ``pipeline/templates`` (article Markdown/HTML body and standalone page)
``report``   ``pipeline/templates`` (the evaluation report)
``site``     ``pipeline/templates/site``, then ``pipeline/templates`` (site chrome, feeds)
``desk``     ``pipeline/web/templates`` (the review desk, ``Jinja2Templates(env=environment())``)

Inside a template, ``{% include %}``/``{% extends %}`` of a bare name resolve in the including
template's namespace (:meth:`_Environment.join_path`), so the files themselves name each other
as before (``"base.html.j2"``, ``"article.css"``).

**Escaping is decided by the file name**, not by the caller (:func:`escaped_by_extension`):

* ``.html``/``.xml`` templates are HTML-autoescaped; ``.xml`` values are first stripped of
  the characters XML 1.0 cannot carry, so a feed never becomes malformed;
* ``.md`` templates are not HTML-escaped: every ``{{ … }}`` value goes through
  :func:`pipeline.article.spec.escape_markdown` instead (unless a filter already returned
  :class:`~markupsafe.Markup`, like ``md_url``), so only literal template text can produce
  Markdown syntax.

``StrictUndefined`` makes a misspelt variable an error; ``trim_blocks``/``lstrip_blocks``
keep block tags off the output; ``keep_trailing_newline`` keeps a file's last newline.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    StrictUndefined,
    pass_context,
)
from jinja2.runtime import Context
from markupsafe import Markup

from pipeline.article.spec import escape_markdown, markdown_url

__all__ = ["FOLDERS", "environment", "escaped_by_extension"]

_PACKAGE = Path(__file__).parent
FOLDERS: dict[str, tuple[Path, ...]] = {
    "article": (_PACKAGE / "templates",),
    "report": (_PACKAGE / "templates",),
    "site": (_PACKAGE / "templates" / "site", _PACKAGE / "templates"),
    "desk": (_PACKAGE / "web" / "templates",),
}
"""Template namespace → the folders searched, in order (all ship in the wheel)."""

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _kind(name: str | None) -> str:
    """The file kind of a template name: ``article/page.html.j2`` → ``html``."""
    stem = (name or "").removesuffix(".j2")
    return stem.rsplit(".", 1)[-1].lower() if "." in stem else ""


def escaped_by_extension(name: str | None) -> bool:
    """HTML autoescaping is on for ``.html`` and ``.xml`` templates (``.j2`` ignored)."""
    return _kind(name) in {"html", "xml"}


@pass_context
def _finalize(context: Context, value: Any) -> Any:
    """Per file kind: Markdown-escape ``.md`` values, strip non-XML characters from ``.xml``."""
    kind = _kind(context.name)
    if kind == "md":
        return str(value) if isinstance(value, Markup) else escape_markdown(str(value))
    if kind == "xml" and isinstance(value, str):
        return _NOT_XML.sub("", value)
    return value


class _NamespaceLoader(PrefixLoader):
    """A :class:`PrefixLoader` that compiles a template under its full ``namespace/file`` name.

    (``PrefixLoader.load`` compiles under the bare file name, which would lose the namespace
    that :meth:`_Environment.join_path` resolves includes in.)
    """

    load = BaseLoader.load


class _Environment(Environment):
    """An environment whose bare template names resolve in the including template's namespace."""

    def join_path(self, template: str, parent: str) -> str:
        """``"base.html.j2"`` included from ``desk/queue.html.j2`` is ``desk/base.html.j2``."""
        if "/" in template or "/" not in parent:
            return template
        return f"{parent.split('/', 1)[0]}/{template}"


@cache
def environment() -> Environment:
    """The process's one template environment (created on first use)."""
    loaders: dict[str, BaseLoader] = {
        name: FileSystemLoader(list(folders)) for name, folders in FOLDERS.items()
    }
    env = _Environment(
        loader=_NamespaceLoader(loaders),
        autoescape=escaped_by_extension,
        finalize=_finalize,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md_url"] = markdown_url
    return env
