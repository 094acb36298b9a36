"""Rebuild the static site from the store: the one path the CLI, the web desk and builds share.

:func:`pipeline.publish.site.build_site` writes a site from entries; this module picks the
entries (every verified live publication, :func:`pipeline.store.publications.site_entries`)
and the site settings (folder, desk URL for the follow-up form), so ``press publish``, the
desk's Publish button and ``press build`` can never build different sites from one store.
"""

from __future__ import annotations

from pathlib import Path

from langchain_core.embeddings import Embeddings

from pipeline.publish.site import SiteReport, build_site
from pipeline.settings.load import Settings
from pipeline.store.db import Store
from pipeline.store.publications import site_entries


def rebuild_site(
    settings: Settings,
    store: Store,
    embeddings: Embeddings | None = None,
    *,
    site_dir: Path | None = None,
) -> tuple[SiteReport, list[str]]:
    """Write the site (``site_dir``, default ``outputs/site``) from every verified live
    publication; returns the report and the problems found (publications left out, each
    with the reason)."""
    entries, problems = site_entries(store)
    report = build_site(
        entries,
        site_dir or settings.outputs / "site",
        embeddings=embeddings,
        desk_url=settings.review.desk_url,
    )
    return report, problems


def articles_phrase(count: int) -> str:
    """ "1 article" / "3 articles"."""
    return f"{count} article" if count == 1 else f"{count} articles"
