"""Fusion math, BM25 feedback terms, and that each retrieval setting changes the ranking.

The ranking tests use a hand-made corpus and a fake embedding model whose vectors are
written out below, so every similarity is known exactly and each assertion can fail: every
test compares two values of one setting and checks that the order moves the way the
setting is meant to move it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from pipeline.errors import RetrievalError
from pipeline.index.hybrid import Index
from pipeline.index.lexical import LexicalIndex, tokenize
from pipeline.ingest.run import ingest
from pipeline.retrieve.fusion import fuse_scores
from pipeline.retrieve.retriever import HybridRetriever
from pipeline.settings.corpus import RetrievalSettings
from pipeline.settings.load import Settings, load_settings
from tests.support.shared_home import SharedHomes

# ----------------------------------------------------------------------------- fusion math


def test_rrf_sums_weighted_reciprocal_ranks() -> None:
    lists = {"dense": {"a": 0.9, "b": 0.5}, "lexical": {"b": 10.0, "c": 5.0}}
    fused = fuse_scores(lists, {"dense": 1.0, "lexical": 2.0}, "rrf", rrf_k=60)
    assert fused["a"] == pytest.approx(1 / 61)
    assert fused["b"] == pytest.approx(1 / 62 + 2 / 61)
    assert fused["c"] == pytest.approx(2 / 62)


def test_zscore_standardizes_each_side_and_floors_missing_scores() -> None:
    lists = {"dense": {"a": 0.9, "b": 0.7, "c": 0.5}, "lexical": {"b": 4.0, "d": 2.0}}
    fused = fuse_scores(lists, {"dense": 1.0, "lexical": 1.0}, "zscore")
    z = 0.2 / math.sqrt((0.2**2 + 0.2**2) / 3)  # dense: mean 0.7, population std
    assert fused["a"] == pytest.approx(z - 1.0)  # lexical missing -> its lowest z (-1)
    assert fused["b"] == pytest.approx(0.0 + 1.0)
    assert fused["c"] == pytest.approx(-z - 1.0)
    assert fused["d"] == pytest.approx(-z - 1.0)  # dense missing -> its lowest z
    assert max(fused, key=fused.__getitem__) == "b"


def test_zscore_uses_an_exact_score_when_the_side_knows_it() -> None:
    lists = {"dense": {"a": 0.9, "b": 0.7, "c": 0.5}, "lexical": {"b": 4.0, "d": 2.0}}
    exact = {"a": 0.0, "c": 1.0}
    fused = fuse_scores(
        lists, {"dense": 1.0, "lexical": 1.0}, "zscore", known={"lexical": exact.get}
    )
    z = 0.2 / math.sqrt((0.2**2 + 0.2**2) / 3)
    assert fused["a"] == pytest.approx(z + (0.0 - 3.0))  # BM25 0 is far below the list
    assert fused["c"] == pytest.approx(-z + (1.0 - 3.0))
    assert fused["d"] == pytest.approx(-z - 1.0)  # dense has no lookup: floor


def test_weights_scale_each_side_and_zero_drops_it() -> None:
    lists = {"dense": {"a": 1.0, "b": 0.0}, "lexical": {"b": 1.0, "a": 0.0, "c": 0.5}}
    dense_heavy = fuse_scores(lists, {"dense": 3.0, "lexical": 1.0}, "zscore")
    lexical_heavy = fuse_scores(lists, {"dense": 1.0, "lexical": 3.0}, "zscore")
    assert max(dense_heavy, key=dense_heavy.__getitem__) == "a"
    assert max(lexical_heavy, key=lexical_heavy.__getitem__) == "b"
    dense_only = fuse_scores(lists, {"dense": 1.0, "lexical": 0.0}, "zscore")
    assert set(dense_only) == {"a", "b"}  # "c" came only from the zero-weight side


def test_a_side_with_equal_scores_contributes_zero() -> None:
    fused = fuse_scores({"dense": {"a": 0.5, "b": 0.5}}, {"dense": 1.0}, "zscore")
    assert fused == {"a": 0.0, "b": 0.0}


# ----------------------------------------------------------------------------- BM25 parts

SHORT_CORPUS = {
    "p1": "stiff person syndrome improved with intravenous immunoglobulin",
    "p2": "immunoglobulin infusions reduced stiffness in stiff person syndrome",
    "p3": "baclofen and diazepam for spasticity",
    "p4": "antibody dosing schedules in neurology",
    "p5": "tax law for small businesses",
}


def _lexical(k1: float = 1.2, b: float = 0.75) -> LexicalIndex:
    ids = list(SHORT_CORPUS)
    return LexicalIndex.build(
        ids, [SHORT_CORPUS[i] for i in ids], {}, corpus_version="v", k1=k1, b=b
    )


def test_weighted_scores_with_unit_weights_equal_bm25s_scores() -> None:
    lexical = _lexical()
    query = "immunoglobulin for stiff person syndrome"
    terms = lexical.query_terms(query)
    tokens = [t for t in tokenize([query], "english")[0] if t in lexical.retriever.vocab_dict]
    assert np.allclose(lexical.scores(terms), lexical.retriever.get_scores(tokens))
    doubled = lexical.scores({t: 2.0 * w for t, w in terms.items()})
    assert np.allclose(doubled, 2 * lexical.scores(terms))


def test_feedback_terms_are_the_heaviest_terms_of_the_feedback_passages() -> None:
    lexical = _lexical()
    query_terms = lexical.query_terms("stiff person syndrome")
    chosen = lexical.feedback_terms(["p1", "p2"], 3, exclude=query_terms)
    words = [lexical.term_text(t) for t in chosen]
    assert words[0] == "immunoglobulin"  # in both feedback passages
    assert chosen[next(iter(chosen))] == pytest.approx(1.0)  # best term has weight 1
    assert all(0 < w <= 1 for w in chosen.values())
    assert not set(chosen) & set(query_terms)  # the query's own terms are not re-added
    assert not {"baclofen", "tax"} & set(words)  # terms of other passages are not chosen
    assert lexical.feedback_terms(["p1"], 0) == {}
    assert lexical.feedback_terms(["unknown id"], 3) == {}


# ----------------------------------------------------------------------------- ranking tests


DIM = 8
NOISE = DIM - 1  # the axis that carries whatever is not similarity to a test's query
Vector = tuple[float, ...]


class TableEmbeddings(Embeddings):
    """Fixed vectors per text (passages and queries alike); other texts get the noise axis."""

    dimension = DIM

    def __init__(self, name: str, table: dict[str, Vector]) -> None:
        self.name = name
        self.table = table

    def embed_array(self, texts: list[str]) -> np.ndarray:
        rows = [self.table.get(t, axis(NOISE)) for t in texts]
        out = np.asarray(rows, dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_array([text])[0].tolist()  # type: ignore[no-any-return]


def axis(i: int, value: float = 1.0, **others: float) -> Vector:
    """A vector with ``value`` on axis ``i`` (plus ``a<j>=…`` parts), the rest on NOISE."""
    v = [0.0] * DIM
    v[i] = value
    for name, part in others.items():
        v[int(name[1:])] = part
    v[NOISE] = math.sqrt(max(0.0, 1.0 - sum(x * x for x in v[:NOISE])))
    return tuple(v)


# Each test has its own query, embedded as a unit vector on its own axis, so passages of
# other tests are orthogonal to it (cosine 0) and only rank after the test's own passages.
QUERIES: dict[str, Vector] = {
    "zeta": axis(0),
    "kappa": axis(1),
    "sigma": axis(2),
    "rho tau": axis(3),
    "upsilon": axis(4),
}
FILLER = " ".join(f"filler{i}" for i in range(12))
# id: (text, vector of the first model, vector of the second model)
CORPUS: dict[str, tuple[str, Vector, Vector]] = {
    # Fusion: A is the dense model's clear favourite but BM25 ranks it third (long text);
    # B is BM25's favourite and the dense model's second. The second model prefers B.
    "A": (f"alpha zeta {FILLER}", axis(0, 0.99), axis(0, 0.30)),
    "B": ("zeta zeta", axis(0, 0.35), axis(0, 0.99)),
    "C": ("zeta beta", axis(0, 0.34), axis(0, 0.31)),
    "D": ("gamma one", axis(0, 0.33), axis(0, 0.30)),
    "E": ("delta two", axis(0, 0.32), axis(0, 0.29)),
    "F": ("epsilon three", axis(0, 0.31), axis(0, 0.28)),
    # BM25 parameters: one long passage repeating the term, one short passage.
    "L": (f"kappa kappa kappa kappa {FILLER} {FILLER}", axis(NOISE), axis(NOISE)),
    "S": ("kappa lambda", axis(NOISE), axis(NOISE)),
    # Candidate depth: M is second on both sides, X first for dense only, Y for BM25 only.
    "X": ("omicron", axis(2, 0.90), axis(NOISE)),
    "M": ("sigma words here", axis(2, 0.80), axis(NOISE)),
    "Y": ("sigma sigma", axis(2, -0.05), axis(NOISE)),
    # Pseudo-relevance feedback: T shares no query term but the feedback passages' terms.
    "P1": ("rho tau immunoglobulin infusion", axis(3, 0.5), axis(NOISE)),
    "P2": ("rho tau immunoglobulin infusion dosing", axis(3, 0.5), axis(NOISE)),
    "T": ("immunoglobulin infusion", axis(NOISE), axis(NOISE)),
    # Dense feedback: G resembles the best passage G1, H resembles only the query.
    "G1": ("upsilon first", axis(4, 0.9, a5=0.436), axis(NOISE)),
    "G": ("upsilon second", axis(4, 0.3, a5=0.954), axis(NOISE)),
    "H": ("upsilon third", axis(4, 0.5, a6=0.866), axis(NOISE)),
}


def _write_corpus(folder: Path) -> Path:
    path = folder / "tiny.jsonl"
    lines = [
        json.dumps({"id": key, "title": "", "abstract": text})
        for key, (text, _, _) in CORPUS.items()
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def tiny(
    tmp_path_factory: pytest.TempPathFactory, shared_homes: SharedHomes
) -> Iterator[tuple[Settings, Index]]:
    folder = tmp_path_factory.mktemp("tiny")
    settings = load_settings(home=folder / "home", retrieval={"second_model": "e5-small"})
    first = TableEmbeddings(
        "table-first", {**QUERIES, **{text: v for text, v, _ in CORPUS.values()}}
    )
    second = TableEmbeddings(
        "table-second", {**QUERIES, **{text: v for text, _, v in CORPUS.values()}}
    )
    index = Index(settings, first, second_embeddings=second)
    report = ingest([_write_corpus(folder)], index)
    assert not report.failed
    assert index.second_vectors is not None and index.second_vectors.count() == len(CORPUS)
    shared_homes.register(settings.home)
    yield settings, index
    shared_homes.forget(settings.home)


def _ids(
    index: Index, query: str, mode: str = "hybrid", k: int = 5, **overrides: object
) -> list[str]:
    base = {
        "fusion": "zscore",
        "candidates": 50,
        "prf_docs": 0,
        "prf_keep_weight": 0.0,
        "second_model": None,
        "dense_weight": 1.0,
        "lexical_weight": 1.0,
    }
    settings = RetrievalSettings(**{**base, **overrides})  # type: ignore[arg-type]
    retriever = HybridRetriever(index=index, settings=settings, mode=mode)  # type: ignore[arg-type]
    return [hit.citation.id for hit in retriever.search(query, k=k)]


def test_fusion_method_changes_the_ranking(tiny: tuple[Settings, Index]) -> None:
    _, index = tiny
    # Ranks: A is dense #1 and BM25 #3, B dense #2 and BM25 #1: rank fusion prefers B;
    # A's dense similarity stands out by far more than B's BM25 lead, so z-scores pick A.
    assert _ids(index, "zeta", fusion="rrf")[0] == "B"
    assert _ids(index, "zeta", fusion="zscore")[0] == "A"


def test_fusion_weights_change_the_ranking(tiny: tuple[Settings, Index]) -> None:
    _, index = tiny
    assert _ids(index, "zeta", dense_weight=1.0, lexical_weight=4.0)[0] == "B"
    assert _ids(index, "zeta", dense_weight=4.0, lexical_weight=1.0)[0] == "A"


def test_bm25_parameters_change_the_lexical_ranking(tiny: tuple[Settings, Index]) -> None:
    _, index = tiny
    # Strong term-frequency credit and no length normalization: the long repetitive passage.
    assert _ids(index, "kappa", mode="lexical", bm25_k1=3.0, bm25_b=0.0)[0] == "L"
    # Saturated term frequency and full length normalization: the short passage.
    assert _ids(index, "kappa", mode="lexical", bm25_k1=0.2, bm25_b=1.0)[0] == "S"


def test_bm25_parameters_of_the_retriever_reach_the_index(tiny: tuple[Settings, Index]) -> None:
    settings, index = tiny
    assert index.lexical(k1=0.4, b=0.9).k1 == pytest.approx(0.4)
    assert index.lexical(k1=0.4, b=0.9).b == pytest.approx(0.9)
    assert index.lexical().k1 == pytest.approx(settings.retrieval.bm25_k1)


def test_candidate_depth_changes_what_fusion_can_find(tiny: tuple[Settings, Index]) -> None:
    _, index = tiny
    # M is second for both sides: with two candidates per side RRF puts it first,
    # with one candidate per side it is never seen.
    assert _ids(index, "sigma", k=1, fusion="rrf", candidates=3)[0] == "M"
    assert _ids(index, "sigma", k=1, fusion="rrf", candidates=1)[0] != "M"


def test_pseudo_relevance_feedback_reaches_passages_without_query_terms(
    tiny: tuple[Settings, Index],
) -> None:
    _, index = tiny
    plain = _ids(index, "rho tau", mode="lexical", k=5)
    expanded = _ids(index, "rho tau", mode="lexical", k=5, prf_docs=2, prf_terms=2, prf_weight=0.5)
    assert "T" not in plain
    assert "T" in expanded
    assert expanded[:2] == plain[:2]  # the feedback passages keep their places


def test_dense_feedback_moves_the_query_towards_the_best_passages(
    tiny: tuple[Settings, Index],
) -> None:
    _, index = tiny
    plain = _ids(index, "upsilon", mode="dense", k=20)
    moved = _ids(
        index, "upsilon", mode="dense", k=20, prf_docs=1, prf_terms=0, prf_dense_weight=1.0
    )
    assert plain.index("H") < plain.index("G")
    assert moved.index("G") < moved.index("H")


def test_keeping_the_first_pass_score_holds_its_order_after_feedback(
    tiny: tuple[Settings, Index],
) -> None:
    _, index = tiny
    feedback = {"prf_docs": 1, "prf_terms": 0, "prf_dense_weight": 1.0}
    alone = _ids(index, "upsilon", mode="dense", k=20, prf_keep_weight=0.0, **feedback)
    kept = _ids(index, "upsilon", mode="dense", k=20, prf_keep_weight=1.0, **feedback)
    # Feedback alone puts G (like the best passage) above H (like the query); adding the
    # first pass's similarities back (G 0.3, H 0.5) restores H's lead.
    assert alone.index("G") < alone.index("H")
    assert kept.index("H") < kept.index("G")


def test_second_model_changes_the_ranking(tiny: tuple[Settings, Index]) -> None:
    _, index = tiny
    # Dense mode with both models: the second model strongly prefers B.
    assert _ids(index, "zeta", mode="dense")[0] == "A"
    with_second = _ids(index, "zeta", mode="dense", second_model="e5-small", second_weight=3.0)
    assert with_second[0] == "B"
    off = _ids(index, "zeta", mode="dense", second_model="e5-small", second_weight=0.0)
    assert off[0] == "A"


def test_second_model_setting_accepts_none_spelled_out() -> None:
    assert RetrievalSettings(second_model="none").second_model is None  # type: ignore[arg-type]
    assert RetrievalSettings(second_model="e5-small").second_model == "e5-small"
    with pytest.raises(ValueError):
        RetrievalSettings(second_model="bert")  # type: ignore[arg-type]


def test_a_second_model_the_index_was_opened_without_is_an_error(
    tiny: tuple[Settings, Index],
) -> None:
    settings, index = tiny
    plain = Index(settings.model_copy(update={"retrieval": RetrievalSettings()}), index.embeddings)
    retriever = HybridRetriever(index=plain, settings=RetrievalSettings(second_model="e5-small"))
    with pytest.raises(RetrievalError):
        retriever.search("zeta")
    plain.close()
