"""pipeline.models.corpus: citation ids (PMID, then DOI, then a folded hash) and passage ids."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pipeline.models.corpus import Citation, Passage, citation_id, normalize_doi


def test_a_citation_id_prefers_the_pmid_then_the_doi_then_a_hash() -> None:
    assert citation_id(pmid=" 123 ", doi="10.1/X") == "pmid:123"
    assert citation_id(pmid=" ", doi="https://doi.org/10.1/ABC") == "doi:10.1/abc"
    assert normalize_doi("doi: 10.1/ABC") == "10.1/abc"
    hashed = citation_id(title="Étude clinique", year=2020, first_author="Dalakas")
    assert hashed.startswith("h:")
    assert hashed == citation_id(title="etude  CLINIQUE!", year=2020, first_author="dalakas")
    assert hashed != citation_id(title="Étude clinique", year=2021, first_author="Dalakas")


def test_a_passage_id_follows_its_text_and_a_dumped_passage_loads_back() -> None:
    passage = Passage(citation_id="pmid:1", text="IVIG reduced stiffness.")
    assert passage.id.startswith("p:")
    assert passage.id != Passage(citation_id="pmid:2", text="IVIG reduced stiffness.").id
    assert Passage.model_validate(passage.model_dump()) == passage
    with pytest.raises(ValidationError, match="does not match"):
        Passage.model_validate({**passage.model_dump(), "text": "Something else."})


def test_a_citation_body_joins_the_non_empty_sections() -> None:
    citation = Citation.model_validate(
        {
            "id": "c1",
            "title": "T",
            "sections": [{"heading": "A", "text": "One."}, {"heading": "B", "text": " "},
                         {"heading": "C", "text": "Two."}],
        }
    )  # fmt: skip
    assert citation.body == "One.\n\nTwo."
