"""``press draft``: draft a house-format article for a question and store it for review.

A thin shell over :func:`pipeline.draft.draft_article` (or, with ``--follow-up``, the
follow-up path in :mod:`pipeline.cli.review`): it checks its options, drafts, stores the
revision, saves the run under ``outputs/drafts/<slug>/`` and prints the article's path, or the
house-format violations and exit 1 when the model's reply could not be repaired. ``--explain``
prints every checked claim with its support score and passages. The drafting stage imports
the LLM and embedding stack, so it is imported inside the command to keep ``press --help``
fast. :func:`register` adds the command to the main app.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pipeline.cli.acting import draft_author
from pipeline.cli.common import console, current_settings, err_console, handled, open_index
from pipeline.cli.review import store_draft_run, store_follow_up
from pipeline.errors import InputError
from pipeline.models.article import FIELD_LABELS
from pipeline.models.corpus import EvidenceLevel
from pipeline.models.evidence import SearchFilters


def draft(
    question: Annotated[str, typer.Argument(help="The clinical question, in quotes.")],
    audience: Annotated[
        str | None,
        typer.Option(
            help="clinician (default; a follow-up: its parent's) or patient (plainer language)."
        ),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="Which rendering to print the path of: md|html|json.")
    ] = "md",
    use_llm: Annotated[
        bool | None,
        typer.Option(
            "--llm/--no-llm",
            help="Force the LLM chain or the extractive drafter "
            "(default: LLM when an endpoint is configured).",
        ),
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show the passages and support score per bullet.")
    ] = False,
    k: Annotated[int | None, typer.Option("-k", help="Number of sources to retrieve.")] = None,
    year_from: Annotated[int | None, typer.Option(help="Only sources from this year on.")] = None,
    level: Annotated[
        EvidenceLevel | None, typer.Option(help="Only sources at least this strong.")
    ] = None,
    as_user: Annotated[
        str | None,
        typer.Option("--as", help="Author of the stored revision (default: review.default_user)."),
    ] = None,
    follow_up: Annotated[
        str | None,
        typer.Option(
            "--follow-up",
            metavar="SLUG",
            help="Ask QUESTION as a follow-up of the published article SLUG: its evidence "
            "seeds retrieval and the new draft is linked to it.",
        ),
    ] = None,
) -> None:
    """Draft a house-format article for QUESTION and print the path of the result.

    Writes evidence.json, draft.json, article.md, article.html and article.json under
    outputs/drafts/<slug>/. Without an LLM endpoint the extractive drafter is used and the
    article is labelled "drafted without a language model". The article is also stored in
    the review store as a draft revision (a new article, or a new revision of the article
    with the same question and audience) authored by --as USER.
    """
    # Heavy: the drafting stage imports the LLM clients and the retriever (about 6.5 s
    # measured under load, twice what all of `press --help` costs).
    from pipeline.draft.engine import draft_article, save_run

    with handled():
        if audience not in (None, "clinician", "patient"):
            raise InputError("--audience must be clinician or patient")
        if fmt not in ("md", "html", "json"):
            raise InputError("--format must be md, html or json")
    settings = current_settings()
    with handled():
        index = open_index(settings, require_passages=True)
        author = draft_author(settings, as_user)  # refuse unknown users before drafting
        filters = SearchFilters(year_from=year_from, min_level=level)
        if follow_up is not None:
            run = store_follow_up(settings, index, follow_up, question, author, audience, use_llm,
                                  filters, k)  # fmt: skip
        else:
            run = draft_article(
                question,
                settings=settings,
                index=index,
                audience=audience or "clinician",  # type: ignore[arg-type]
                use_llm=use_llm,
                filters=filters,
                k=k,
                on_progress=_progress_printer(),
            )
            run.article.slug = store_draft_run(settings, run, author).article().slug
        folder = save_run(run, settings.outputs)
    article = run.article
    if article.failure:
        err_console.print(
            f"[bold red]error:[/] failed — needs redraft: the model's reply missed the house "
            f"format after its repair round ({folder}):",
            highlight=False,
        )
        for violation in article.failure:
            err_console.print(f"  - {violation}", highlight=False, markup=False)
        err_console.print(
            "  hint: redraft (another model, a smaller PRESS_RETRIEVAL__TOKEN_BUDGET, or "
            "--no-llm), or `press edit` the stored revision by hand.",
            highlight=False,
        )
        raise typer.Exit(1)
    flagged = sum(1 for c in article.checks if c.flagged and c.is_bullet)
    others = sum(1 for c in article.checks if c.flagged and not c.is_bullet)
    err_console.print(
        f"{article.provenance.drafter} draft · {len(article.references)} references · "
        f"{flagged} bullets flagged for review · {others} other claims flagged · "
        f"{article.removed_markers} invalid markers removed",
        highlight=False,
    )
    if explain:
        _explain(run)
    typer.echo(
        str(folder / {"md": "article.md", "html": "article.html", "json": "article.json"}[fmt])
    )


def _progress_printer(every_s: float = 10.0) -> Any:
    """A streamed-reply progress callback printing a line to stderr every ``every_s``."""
    last = [0.0]

    def report(chars: int, seconds: float) -> None:
        if seconds - last[0] >= every_s:
            last[0] = seconds
            err_console.print(f"drafting: {chars:,} characters in {seconds:.0f} s", highlight=False)

    return report


def _explain(run: Any) -> None:
    article = run.article
    passages = {p.passage.id: p for item in run.evidence.items for p in item.passages}
    by_number = {r.number: r for r in article.references}
    for check in article.checks:
        text = (
            article.draft.sections[check.section].bullets[check.bullet].text
            if check.is_bullet
            else f"{FIELD_LABELS[check.field]}: {check.text}"
        )
        mark = "[red]flagged[/]" if check.flagged else "[green]ok[/]"
        console.print(f"\n[bold]•[/] {text}", highlight=False, markup=False)
        console.print(f"  support {check.support:.2f} {mark} {check.reason}", highlight=False)
        for number in check.numbers:
            ref = by_number.get(number)
            if ref is not None:
                console.print(f"  [{number}] {ref.text}", highlight=False, markup=False)
        for pid in check.passage_ids:
            if pid in passages:
                text = passages[pid].passage.text
                console.print(f"    passage: {text[:400]}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    """Add ``draft`` to the main app."""
    app.command()(draft)
