"""Hybrid retrieval on the demo corpus: ranking, filters, diversity, packing, sufficiency."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.draft.chain import format_evidence
from pipeline.errors import ConfigError, RetrievalError
from pipeline.index.embeddings import MiniLMOnnxEmbeddings
from pipeline.index.hybrid import Index
from pipeline.models.corpus import EvidenceLevel
from pipeline.models.evidence import SearchFilters
from pipeline.retrieve.retriever import HybridRetriever
from pipeline.settings.load import Settings
from pipeline.tokens import count_tokens
from pipeline.train.manifest import MODEL_FILE
from tests.support.demo_index import REFERENCE_QUESTION
from tests.support.trained_models import stock_model_folder

SPS_TRIALS = {"ref:dalakas2001", "pmid:35798561"}


@pytest.fixture
def retriever(demo: tuple[Settings, Index]) -> HybridRetriever:
    settings, index = demo
    return HybridRetriever(index=index, settings=settings.retrieval)


def test_sps_query_ranks_the_ivig_trial_cards_first(retriever: HybridRetriever) -> None:
    hits = retriever.search("IVIG stiff person syndrome", k=5)
    top_two = {h.citation.id for h in hits[:2]}
    assert top_two & SPS_TRIALS, [h.citation.id for h in hits]
    assert all(
        "stiff" in (h.citation.topic or "")
        or "stiff" in h.passage.text.lower()
        or "IVI" in h.passage.text
        for h in hits[:3]
    )


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_every_mode_finds_the_reference_topic(retriever: HybridRetriever, mode: str) -> None:
    hits = retriever.search(REFERENCE_QUESTION, k=8, mode=mode)  # type: ignore[arg-type]
    assert sum(1 for h in hits if h.citation.topic == "stiff_person_syndrome") >= 5


def test_year_and_level_filters_apply_to_both_sides(retriever: HybridRetriever) -> None:
    filters = SearchFilters(year_from=2021, min_level=EvidenceLevel.RCT)
    for mode in ("dense", "lexical", "hybrid"):
        hits = retriever.search("treatment outcomes", k=10, filters=filters, mode=mode)  # type: ignore[arg-type]
        assert hits
        for hit in hits:
            assert (hit.citation.year or 0) >= 2021
            assert (hit.citation.evidence_level or EvidenceLevel.OTHER).rank <= 3


def test_per_citation_cap_limits_passages_from_one_source(retriever: HybridRetriever) -> None:
    hits = retriever.search("stiff person syndrome", k=20)
    counts: dict[str, int] = {}
    for hit in hits:
        counts[hit.citation.id] = counts.get(hit.citation.id, 0) + 1
    assert max(counts.values()) <= retriever.settings.per_citation_cap


def test_evidence_is_numbered_and_packed_into_the_budget(retriever: HybridRetriever) -> None:
    evidence = retriever.evidence(REFERENCE_QUESTION, k=6, token_budget=600)
    assert [item.number for item in evidence.items] == list(range(1, len(evidence.items) + 1))
    assert 0 < evidence.token_count <= 600
    assert len(evidence.items) <= 6
    assert evidence.sufficient
    # The budget bounds what the drafting prompt really carries, delimiters and titles too.
    prompt_block = count_tokens(format_evidence(evidence))
    assert 0.9 * evidence.token_count <= prompt_block <= 600


def test_an_off_topic_question_is_marked_insufficient(retriever: HybridRetriever) -> None:
    evidence = retriever.evidence("What torque does a 1967 Ford Mustang lug nut need?")
    assert evidence.sufficient is False


def test_empty_query_is_refused(retriever: HybridRetriever) -> None:
    with pytest.raises(RetrievalError):
        retriever.search("   ")


def test_langchain_retriever_interface_returns_documents(retriever: HybridRetriever) -> None:
    docs = retriever.invoke("baclofen")
    assert docs and docs[0].metadata["citation_id"]


def test_a_question_with_terms_the_corpus_never_saw_is_insufficient(
    retriever: HybridRetriever,
) -> None:
    # Its cosine to unrelated cards clears min_relevance; the unknown terms do not.
    question = "What is the recommended dose of amoxicillin for acute otitis media in children?"
    assert retriever.unknown_terms_share(question) > retriever.settings.max_unknown_terms
    assert retriever.evidence(question).sufficient is False


def test_the_reference_question_uses_known_terms(retriever: HybridRetriever) -> None:
    assert retriever.unknown_terms_share(REFERENCE_QUESTION) <= 0.1
    assert retriever.evidence(REFERENCE_QUESTION).sufficient


def test_query_model_setting_switches_the_question_encoder(
    demo: tuple[Settings, Index], tmp_path: Path
) -> None:
    settings, index = demo
    folder = stock_model_folder(settings.models_dir, "switch-test")
    try:
        stock = HybridRetriever(index=index, settings=settings.retrieval, mode="dense")
        switched_settings = settings.retrieval.model_copy(update={"query_model": "switch-test"})
        switched = HybridRetriever(index=index, settings=switched_settings, mode="dense")
        query = "IVIG for stiff-person syndrome"
        assert "switch-test" not in index._query_encoders
        ids = [h.passage.id for h in switched.search(query, k=5)]
        encoder = index._query_encoders["switch-test"]
        assert isinstance(encoder, MiniLMOnnxEmbeddings)
        assert encoder.model_path == folder / MODEL_FILE
        # The same weights in the folder: the same ranking as the stock model.
        assert ids == [h.passage.id for h in stock.search(query, k=5)]
        unknown = settings.retrieval.model_copy(update={"query_model": "nope"})
        with pytest.raises(ConfigError, match="No query encoder named"):
            HybridRetriever(index=index, settings=unknown, mode="dense").search(query, k=5)
    finally:
        index._query_encoders.clear()
        shutil.rmtree(folder)
