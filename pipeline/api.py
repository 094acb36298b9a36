"""The Python facade for harnesses that import Evidence Press.

Five functions cover what an outside evaluation harness needs, each returning a typed
model, with the same behaviour as the matching ``press`` command::

    from pipeline import api
    api.ingest(["corpus/demo"])                          # -> IngestReport
    hits = api.search("IVIG stiff person syndrome", k=5)  # -> list[ScoredPassage]
    article = api.draft("Is IVIG effective in stiff-person syndrome?")  # -> Article
    report = api.evaluate_retrieval("evals/sets/demo.jsonl")  # -> RetrievalReport
    report.model_dump()   # exactly the JSON of `press eval retrieval --out`
    api.evaluate_articles("evals/sets/demo.jsonl")       # -> ArticleReport

Design
------
* ``settings=None`` means :func:`pipeline.settings.load.load_settings` (``press.toml``, then
  ``PRESS_*`` variables), as on the command line; pass a :class:`Settings` to point a
  call at another home or configuration.
* Opening an index loads the embedding model, so indexes are cached per resolved
  settings (home and every setting) for the life of the process; :func:`close` releases
  them. Calls are not thread-safe; use one process per concurrent harness.
* Errors are the project's :class:`~pipeline.errors.PressError` subclasses (re-exported
  here: ``api.PressError``, ``api.ConfigError``, ``api.RetrievalError``), each with a
  ``hint`` saying how to fix it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from pipeline.draft.engine import draft_article
from pipeline.errors import ConfigError, PressError, RetrievalError
from pipeline.evaluate.articles import ArticleReport
from pipeline.evaluate.articles import evaluate_articles as _evaluate_articles
from pipeline.evaluate.indexes import open_corpus_index
from pipeline.evaluate.retrieval import RetrievalReport
from pipeline.evaluate.retrieval import evaluate_retrieval as _evaluate_retrieval
from pipeline.evaluate.sets import load_set
from pipeline.index.hybrid import Index
from pipeline.ingest.run import IngestReport
from pipeline.ingest.run import ingest as _ingest
from pipeline.models.article import Article, Audience
from pipeline.models.evidence import ScoredPassage
from pipeline.retrieve.retriever import HybridRetriever, Mode
from pipeline.settings.load import Settings, load_settings
from pipeline.settings.report import public_dict

__all__ = [
    "Article",
    "ArticleReport",
    "ConfigError",
    "IngestReport",
    "PressError",
    "RetrievalError",
    "RetrievalReport",
    "ScoredPassage",
    "Settings",
    "close",
    "draft",
    "evaluate_articles",
    "evaluate_retrieval",
    "ingest",
    "search",
]

_INDEXES: dict[str, Index] = {}


def _resolve(settings: Settings | None) -> Settings:
    return settings if settings is not None else load_settings()


def _index(settings: Settings) -> Index:
    key = json.dumps(
        {"home": str(settings.home.resolve()), **public_dict(settings)}, sort_keys=True, default=str
    )
    if key not in _INDEXES:
        _INDEXES[key] = Index(settings)
    return _INDEXES[key]


def _non_empty(settings: Settings) -> Index:
    index = _index(settings)
    if index.passage_db.counts()["passages"] == 0:
        raise RetrievalError(
            f"The index at {settings.index_dir} is empty",
            "Call pipeline.api.ingest([...]) first (or `press ingest corpus/demo`).",
        )
    return index


def close() -> None:
    """Release every index this module opened (database handles, cached models)."""
    for index in _INDEXES.values():
        index.close()
    _INDEXES.clear()


def ingest(paths: Iterable[str | Path], *, settings: Settings | None = None) -> IngestReport:
    """Ingest files and folders into the configured index (incremental, like ``press ingest``).

    Returns the :class:`~pipeline.ingest.run.IngestReport`; files that failed are listed
    in ``report.failed`` with one message each (nothing is raised for a bad file).
    """
    resolved = _resolve(settings)
    return _ingest([Path(p) for p in paths], _index(resolved))


def search(
    question: str, k: int = 10, *, mode: Mode = "hybrid", settings: Settings | None = None
) -> list[ScoredPassage]:
    """The ``k`` best passages for ``question`` (``mode``: hybrid, dense or lexical)."""
    resolved = _resolve(settings)
    retriever = HybridRetriever(index=_non_empty(resolved), settings=resolved.retrieval, mode=mode)
    return retriever.search(question, k=k)


def draft(
    question: str,
    audience: Audience = "clinician",
    llm: BaseChatModel | None = None,
    *,
    settings: Settings | None = None,
) -> Article:
    """Draft and check one house-format article.

    With ``llm`` (any LangChain chat model) the LLM chain drafts; without it the LLM
    configured in settings does, or the extractive drafter when none is configured.
    Render the result with :mod:`pipeline.article.render` (``to_markdown``, ``to_html``).
    """
    resolved = _resolve(settings)
    run = draft_article(
        question, settings=resolved, index=_non_empty(resolved), audience=audience, llm=llm
    )
    return run.article


def evaluate_retrieval(
    set_path: str | Path,
    corpus_path: str | Path | None = None,
    *,
    k: int = 10,
    settings: Settings | None = None,
) -> RetrievalReport:
    """Score fused, dense and lexical retrieval on a question set (``press eval retrieval``).

    With ``corpus_path`` the corpus is ingested into a reusable evaluation index first;
    without it the configured index is used. ``report.model_dump()`` is the JSON report.
    """
    resolved = _resolve(settings)
    questions = load_set(Path(set_path))
    if corpus_path is None:
        index, corpus = _non_empty(resolved), None
    else:
        index, corpus = _corpus_index(Path(corpus_path), resolved), str(corpus_path)
    return _evaluate_retrieval(
        questions, index, resolved, k=k, set_name=str(set_path), corpus=corpus
    )


def evaluate_articles(
    set_path: str | Path,
    *,
    use_llm: bool = False,
    llm: BaseChatModel | None = None,
    corpus_path: str | Path | None = None,
    settings: Settings | None = None,
) -> ArticleReport:
    """Draft every question of a set and score the articles (``press eval articles``).

    The extractive drafter is used unless ``use_llm`` is true (the configured endpoint)
    or ``llm`` is given. ``corpus_path`` works as in :func:`evaluate_retrieval`.
    """
    resolved = _resolve(settings)
    questions = load_set(Path(set_path))
    if corpus_path is None:
        index, corpus = _non_empty(resolved), None
    else:
        index, corpus = _corpus_index(Path(corpus_path), resolved), str(corpus_path)
    return _evaluate_articles(
        questions, index, resolved, use_llm=use_llm, llm=llm, set_name=str(set_path), corpus=corpus
    )


def _corpus_index(corpus: Path, settings: Settings) -> Index:
    built = open_corpus_index(corpus, settings)
    key = f"eval:{built.settings.home.resolve()}"
    cached = _INDEXES.get(key)
    if cached is not None and built.reused:
        built.index.close()
        return cached
    if cached is not None:
        cached.close()
    _INDEXES[key] = built.index
    return built.index
