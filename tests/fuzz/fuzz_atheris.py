"""Coverage-guided fuzzing of the loaders and the `press edit` Markdown path with atheris.

Run by hand, never in CI (pytest does not collect this file; atheris is not a dependency)::

    pip install atheris          # a wheel for CPython 3.11 on Linux x86-64; no clang needed
    python tests/fuzz/fuzz_atheris.py --target jsonl -atheris_runs=20000
    python tests/fuzz/fuzz_atheris.py --target edit -max_total_time=300

``--target`` is a loader format (``jsonl``, ``pubmed-xml``, ``ris`` … see
``pipeline.ingest.loaders.registry.FORMATS``), ``auto`` (format detection) or ``edit`` (parse an
edited article's Markdown and re-check its citations). Any exception other than the
project's own :class:`~pipeline.errors.PressError` is a finding: atheris stops and writes the
crashing input to ``crash-*`` in the working directory. The remaining arguments go to
libFuzzer (``-atheris_runs``, ``-max_total_time``, a corpus folder …).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["pipeline"]):
    from pipeline.article import render
    from pipeline.article.parse import parse_article_markdown
    from pipeline.errors import PressError
    from pipeline.ingest.loaders.dispatch import load_file
    from pipeline.ingest.loaders.registry import FORMATS
    from pipeline.models.evidence import EvidenceSet
    from pipeline.review.editing import edited_article
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.article.test_render import make_article


def main() -> None:
    """Parse ``--target`` and hand the rest of the arguments to libFuzzer."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", default="jsonl", choices=[*FORMATS, "auto", "edit"])
    args, rest = parser.parse_known_args()
    scratch = Path(tempfile.mkdtemp(prefix="press-fuzz-")) / "input"
    article = make_article()
    seed = render.to_markdown(article)

    def one_input(data: bytes) -> None:
        try:
            if args.target == "edit":
                # The first byte picks the line of the rendered article the rest goes in at.
                lines = seed.split("\n")
                at = data[0] % len(lines) if data else 0
                lines.insert(at, data[1:].decode("utf-8", errors="replace"))
                draft = parse_article_markdown("\n".join(lines), article)
                edited_article(article, draft, EvidenceSet(question="q"), support_threshold=0.35)
                return
            scratch.write_bytes(data)
            if args.target == "auto":
                load_file(scratch)
            else:
                FORMATS[args.target](scratch)
        except PressError:
            pass  # the project's own, expected error for bad input

    atheris.Setup([sys.argv[0], *rest], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
