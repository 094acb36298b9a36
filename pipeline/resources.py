"""Folders the repository keeps at the top level but the wheel ships inside the package.

Editors change prompts in ``prompts/`` and the demo corpus lives in ``corpus/demo/``; the
wheel build maps both into ``pipeline/assets/`` (``force-include`` in ``pyproject.toml``)
so there is one copy of each in the repository and one in an installation. Code asks here
instead of building either path itself: the installed folder when it exists, else the
checkout's (an editable install).
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ASSETS = PACKAGE / "assets"


def shipped_folder(asset: str, checkout: str) -> Path:
    """``pipeline/assets/<asset>`` in an installed wheel, else ``<checkout root>/<checkout>``."""
    installed = ASSETS / asset
    return installed if installed.is_dir() else PACKAGE.parent / checkout


def packaged_prompts_dir() -> Path:
    """The prompt set shipped with the program."""
    return shipped_folder("prompts", "prompts")


def demo_corpus_dir() -> Path:
    """The demo corpus shipped with the program (``press ingest --demo``)."""
    return shipped_folder("demo", "corpus/demo")
