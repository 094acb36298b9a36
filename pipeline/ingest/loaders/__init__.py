"""Format loaders: one corpus file in, :class:`~pipeline.ingest.loaders.base.LoadResult` out.

Design
------
* **One module per format family** (``jsonl``, ``pubmed_xml``, ``medline``, ``ris``,
  ``bibtex``, ``csl_json``, ``jats``, ``guideline`` for Markdown/text/HTML, ``pdf``),
  each a plain function ``load(path) -> LoadResult`` (:mod:`.base`) registered in
  :data:`~pipeline.ingest.loaders.registry.FORMATS` under the name users pass to
  ``--format``. Shared rules (ids, cleaning, evidence levels, skip-vs-error) live in
  :mod:`._common`, so the same article gives the same
  :class:`~pipeline.models.corpus.Citation` whichever format it arrives in.
* **Detection by content, not by name** (:mod:`.detect`):
  :func:`~pipeline.ingest.loaders.detect.detect_format` sniffs the first 64 KB for
  signatures specific to one format; only when the content is ambiguous (plain prose, an
  HTML fragment) does the file extension decide, so a PubMed export saved as
  ``results.txt`` still loads as PubMed XML.
* **Errors** (:mod:`.dispatch`): :func:`~pipeline.ingest.loaders.dispatch.load_file` either
  loads a file completely or raises :class:`~pipeline.errors.LoadError` naming the file with
  a hint; record-level problems are reported in ``LoadResult.skipped``, and an unexpected
  exception from a loader becomes a ``LoadError`` so one bad file cannot crash a whole
  ingest run.

Modules import in one direction: format modules → ``registry`` → ``detect`` → ``dispatch``.
"""
