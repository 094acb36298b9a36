"""The evaluation harness (``press eval``, DESIGN §6).

Modules, each one concern:

* :mod:`~pipeline.evaluate.sets` — the question-set format (JSONL) and corpus fingerprints;
* :mod:`~pipeline.evaluate.metrics` — ranking metrics and percentiles as pure functions;
* :mod:`~pipeline.evaluate.retrieval` — fused/dense/lexical rankings scored against gold
  citation ids, on the configured index or a reusable index built from a corpus file;
* :mod:`~pipeline.evaluate.articles` — drafts every question and scores citation validity,
  support, structure, verdicts, abstention, tokens and time;
* :mod:`~pipeline.article.check` — the house-format check on rendered Markdown;
* :mod:`~pipeline.evaluate.report` — JSON reports and the self-contained HTML page;
* :mod:`~pipeline.evaluate.compare` — deltas between two reports and regression checks;
* :mod:`~pipeline.evaluate.convert` — PubMedQA → corpus + question set.

The command line is :mod:`pipeline.cli.eval`; :mod:`pipeline.api` is the Python facade.
"""
