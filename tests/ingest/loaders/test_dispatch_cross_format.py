"""The same 12 PubMed records in RIS, BibTeX, CSL-JSON and MEDLINE load identically.

``fixtures/derived_from_pubmed/open_sample.*`` hold the first 12 records of
``citations/open_citations.jsonl``. What each format carries (checked in the files):

* RIS (TI AU PY T2 VL IS SP DO AN AB), BibTeX (title author journal year volume number
  pages doi pmid abstract) and CSL-JSON carry every compared field;
* the MEDLINE export has no ``VI``/``IP``/``PG`` lines, so volume, issue and pages are
  not compared for it.

RIS and CSL carry PubMed publication types (``M3``/``genre``) and MEDLINE has ``PT``, so
evidence levels are compared for them too; BibTeX has no publication types.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.ingest.loaders.dispatch import load_file
from pipeline.models.corpus import Citation

ALL_FIELDS = ("id", "title", "year", "doi", "pmid", "authors", "journal", "volume", "issue")
ALL_FIELDS += ("pages", "body")
FORMATS = {
    "ris": (ALL_FIELDS, True),
    "bib": (ALL_FIELDS, False),
    "csl.json": (ALL_FIELDS, True),
    "nbib": (tuple(f for f in ALL_FIELDS if f not in ("volume", "issue", "pages")), True),
}


def _view(citation: Citation, fields: tuple[str, ...]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": citation.id,
        "title": citation.title,
        "year": citation.year,
        "doi": citation.doi,
        "pmid": citation.pmid,
        "authors": [(a.family, a.initials, a.collective) for a in citation.authors],
        "journal": citation.journal,
        "volume": citation.volume,
        "issue": citation.issue,
        "pages": citation.pages,
        "body": citation.body,
    }
    return {name: values[name] for name in fields}


@pytest.fixture
def reference(shared_data: Path) -> list[Citation]:
    """The first 12 records of the canonical JSONL the derived files were made from."""
    return load_file(shared_data / "citations" / "open_citations.jsonl").citations[:12]


@pytest.mark.parametrize("extension", sorted(FORMATS))
def test_format_matches_the_canonical_jsonl(
    shared_data: Path, reference: list[Citation], extension: str
) -> None:
    fields, has_types = FORMATS[extension]
    result = load_file(
        shared_data / "fixtures" / "derived_from_pubmed" / f"open_sample.{extension}"
    )
    assert result.skipped == []
    assert len(result.citations) == 12
    for expected, actual in zip(reference, result.citations, strict=True):
        assert _view(actual, fields) == _view(expected, fields)
        if has_types:
            assert actual.evidence_level is expected.evidence_level


def test_the_reference_records_are_the_raw_first_twelve(
    shared_data: Path, reference: list[Citation]
) -> None:
    # Guards the comparison above: the JSONL side really is what the file says.
    lines = (shared_data / "citations" / "open_citations.jsonl").read_text("utf-8").splitlines()
    assert [c.pmid for c in reference] == [json.loads(line)["pmid"] for line in lines[:12]]
    assert reference[0].title.endswith("A Scoping Review.")  # trailing period kept everywhere
    assert reference[1].issue == "4" and reference[0].issue is None
