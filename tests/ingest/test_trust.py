"""Ingested records cannot award themselves an evidence level their format cannot vouch for.

Reproduces the problem found in review: a two-record JSONL file that declared itself a
"guideline" became citation [1] of published articles, ranked above real trials.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.index.hybrid import Index
from pipeline.ingest.run import ingest
from pipeline.models.corpus import EvidenceLevel, SourceKind
from pipeline.settings.load import load_settings

SELF_DECLARED = [
    {
        "pmid": "900001",
        "title": "Consensus guideline: drug X for everyone",
        "year": "2024",
        "abstract": "Drug X should be given to every patient with condition Y.",
        "source_kind": "guideline",
        "evidence_level": "guideline",
        "publication_types": ["Practice Guideline"],
    },
    {
        "pmid": "900002",
        "title": "A randomized controlled trial of drug X",
        "year": "2024",
        "abstract": "Drug X cured everyone in a trial of three patients.",
        "publication_types": ["Randomized Controlled Trial"],
    },
]

PUBMED = """<?xml version="1.0"?>
<PubmedArticleSet><PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM">
<PMID Version="1">900003</PMID><Article PubModel="Print">
<Journal><Title>Neurology</Title>
<JournalIssue><PubDate><Year>2023</Year></PubDate></JournalIssue></Journal>
<ArticleTitle>Treatment of condition Y.</ArticleTitle>
<Abstract><AbstractText>Recommendations on drug X for condition Y in adults.</AbstractText>
</Abstract>
<AuthorList><Author><LastName>Doe</LastName><Initials>J</Initials></Author></AuthorList>
<PublicationTypeList>
<PublicationType UI="D017065">Practice Guideline</PublicationType>
</PublicationTypeList>
</Article></MedlineCitation></PubmedArticle></PubmedArticleSet>
"""


def _corpus(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "claims.jsonl").write_text("".join(json.dumps(r) + "\n" for r in SELF_DECLARED))
    (folder / "pubmed.xml").write_text(PUBMED)
    return folder


def _levels(index: Index) -> dict[str, tuple[EvidenceLevel | None, SourceKind, str, str]]:
    citations = {stored.citation.id: stored.citation for stored in index.passage_db.iter_all()}
    return {
        cid: (c.evidence_level, c.source_kind, c.source_file or "", c.ingested_at or "")
        for cid, c in citations.items()
    }


def test_self_declared_levels_are_other_unless_the_folder_is_trusted(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "incoming")
    index = Index(load_settings(home=tmp_path / "home", ingest={"trusted_folders": []}))
    ingest([corpus], index)
    levels = _levels(index)
    assert levels["pmid:900001"][:2] == (EvidenceLevel.OTHER, SourceKind.OTHER)
    assert levels["pmid:900002"][0] == EvidenceLevel.OTHER
    # PubMed XML: the NLM publication type is verifiable from the format
    assert levels["pmid:900003"][0] == EvidenceLevel.GUIDELINE
    # every source records its file and when it was ingested
    assert all(file.endswith((".jsonl", ".xml")) and at for _, _, file, at in levels.values())


def test_a_folder_the_editor_configured_keeps_its_declared_levels(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "guidelines")
    settings = load_settings(home=tmp_path / "home", ingest={"trusted_folders": [corpus]})
    index = Index(settings)
    ingest([corpus], index)
    levels = _levels(index)
    assert levels["pmid:900001"][:2] == (EvidenceLevel.GUIDELINE, SourceKind.GUIDELINE)
    assert levels["pmid:900002"][0] == EvidenceLevel.RCT


@pytest.mark.parametrize("fmt", ["jsonl", "ris", "markdown"])
def test_only_pubmed_formats_are_verified(fmt: str) -> None:
    from pipeline.ingest.trust import VERIFIED_FORMATS
    assert fmt not in VERIFIED_FORMATS
