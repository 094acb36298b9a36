"""``press doctor``: is this installation able to do its job, and where does it keep things?

Each check returns a :class:`Check` with a status — ``ok``, ``note`` (worth knowing, not a
fault: an index not built yet) or ``problem`` (something the user must fix, with a hint that
says how) — so the CLI can print a table or JSON and exit non-zero on any problem. The checks
read; they never create the index, the store or the outputs folder, so running the doctor on
a fresh install leaves nothing behind. The LLM check (``--llm``) sends one tiny chat request,
the only check that costs anything.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from pipeline.errors import PressError
from pipeline.settings.load import Settings, config_path
from pipeline.settings.report import mask_url

Status = Literal["ok", "note", "problem"]
DISTRIBUTION = "evidence-press"


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    status: Status
    detail: str
    hint: str = ""

    def as_dict(self) -> dict[str, str]:
        """The check as JSON-able data."""
        return asdict(self)


def version() -> str:
    """The installed distribution's version (``0+unknown`` when run from a bare source tree)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0+unknown"


def package_folders() -> dict[str, Path]:
    """Every folder of the package the program reads files from at run time, by purpose.

    The paths come from the modules that read them, so this list cannot drift from the code.
    """
    from pipeline.article import render
    from pipeline.index.embeddings import TOKENIZER_FILE
    from pipeline.resources import packaged_prompts_dir
    from pipeline.web.desk import STATIC
    from pipeline.web.desk import TEMPLATES as DESK_TEMPLATES
    return {
        "article and report templates": render.TEMPLATES,
        "site templates": render.TEMPLATES / "site",
        "desk templates": DESK_TEMPLATES,
        "desk static files": STATIC,
        "embedding tokenizer": Path(str(TOKENIZER_FILE)).parent,
        "packaged prompts": packaged_prompts_dir(),
    }


def _guard(name: str, run: Callable[[], Check]) -> Check:
    """Run one check; a project error becomes a problem with its own hint."""
    try:
        return run()
    except PressError as exc:
        return Check(name, "problem", exc.message, exc.hint)
    except Exception as exc:  # the doctor reports whatever breaks; it must not crash
        return Check(name, "problem", f"{type(exc).__name__}: {exc}", "Reinstall evidence-press.")


def check_settings(settings: Settings) -> Check:
    """Where settings come from."""
    path = config_path()
    source = f"{path.resolve()}" if path.is_file() else f"defaults (no {path} here)"
    env = sorted(k for k in os.environ if k.startswith("PRESS_") and k != "PRESS_CONFIG")
    detail = f"from {source}" + (f" and {', '.join(env)}" if env else "")
    return Check("settings", "ok", detail)


def check_package_files() -> Check:
    """Every folder of templates, static files, assets and prompts is installed and non-empty."""
    missing = [
        f"{purpose} ({folder})"
        for purpose, folder in package_folders().items()
        if not folder.is_dir() or not any(folder.iterdir())
    ]
    if missing:
        return Check(
            "package files",
            "problem",
            "missing: " + "; ".join(missing),
            "The installation is incomplete: reinstall with `pip install --force-reinstall "
            "evidence-press` (or rebuild the wheel from a full checkout).",
        )
    return Check("package files", "ok", f"{len(package_folders())} folders present")


def check_prompts(settings: Settings) -> Check:
    """The prompt set drafting will use loads and validates."""
    from pipeline.draft.prompts import PROMPT_NAMES, load_prompt, prompts_dir
    folder = prompts_dir(settings.prompts.dir)
    prompts = [load_prompt(name, settings.prompts.dir) for name in PROMPT_NAMES]
    versions = [f"{p.name} {p.version}" for p in prompts]
    origin = "prompts.dir" if settings.prompts.dir else "packaged"
    return Check("prompts", "ok", f"{folder} ({origin}): {', '.join(versions)}")


def check_tokenizer() -> Check:
    """tiktoken's encoding loads from the shipped files, offline."""
    from pipeline.tokens import count_tokens, default_cache_dir
    count_tokens("offline tokenizer check")
    return Check("token counting", "ok", f"cl100k_base offline (cache {default_cache_dir()})")


def check_embeddings(settings: Settings) -> Check:
    """The embedding model loads and embeds one sentence."""
    from pipeline.index.embeddings import embedding_name, make_embeddings
    embeddings = make_embeddings(settings)
    start = time.perf_counter()
    vector = embeddings.embed_query("Is IVIG effective in stiff-person syndrome?")
    ms = (time.perf_counter() - start) * 1000
    return Check(
        "embedding model",
        "ok",
        f"{embedding_name(embeddings)}: loaded and embedded a sentence ({len(vector)} dimensions) "
        f"in {ms:.0f} ms",
    )


def check_index(settings: Settings) -> Check:
    """The index exists and its vector, lexical and passage parts agree."""
    folder = settings.index_dir
    if not (folder / "passages.sqlite").is_file():
        return Check(
            "index",
            "note",
            f"no index yet at {folder.resolve()}",
            "Ingest a corpus: `press ingest --demo` (the shipped demo corpus) or "
            "`press ingest PATH`.",
        )
    from pipeline.index.hybrid import Index
    counts = Index(settings).check()
    return Check(
        "index",
        "ok",
        f"{folder.resolve()}: {counts['citations']} citations, {counts['passages']} passages, "
        f"corpus version {counts['corpus_version']}",
    )


def check_store(settings: Settings) -> Check:
    """The article store opens and is migrated (a SQLite file not created yet is a note)."""
    from pipeline.store.db import Store, store_url
    url = store_url(settings)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return Check("store", "note", f"{url} (created on first use)")
    store = Store(url, busy_timeout_s=settings.store.busy_timeout_s)
    try:
        detail = (
            f"{mask_url(url)}: {len(store.migrations())} migrations, {len(store.users())} users"
        )
    finally:
        store.close()
    return Check("store", "ok", detail)


def check_outputs(settings: Settings) -> Check:
    """Drafts and the site can be written to the outputs folder."""
    folder = settings.outputs.resolve()
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is None or not os.access(existing, os.W_OK):
        return Check(
            "outputs",
            "problem",
            f"{folder} cannot be written",
            "Set PRESS_OUTPUTS to a writable folder, or run press from one.",
        )
    return Check(
        "outputs", "ok", f"{folder}" + ("" if folder.exists() else " (created on first use)")
    )


def check_llm(settings: Settings) -> Check:
    """The configured OpenAI-compatible endpoint answers one tiny chat request (for
    ``llm.provider = "local"``: the runtime and weights of the local lane are installed)."""
    if settings.llm.provider == "local":
        from pipeline.draft.local import check_local_model
        ok, detail, hint = check_local_model(settings)
        return Check("LLM endpoint", "ok" if ok else "problem", f"local model: {detail}", hint)
    if not settings.llm_configured:
        return Check(
            "LLM endpoint",
            "problem",
            "no endpoint is configured (drafting uses the extractive drafter)",
            "Set OPENAI_BASE_URL / PRESS_LLM__BASE_URL (and OPENAI_API_KEY if the server needs "
            "one) and PRESS_LLM__MODEL.",
        )
    import openai

    key = settings.llm.api_key.get_secret_value() if settings.llm.api_key else "not-needed"
    where = mask_url(settings.llm.base_url or "api.openai.com")
    client = openai.OpenAI(
        base_url=settings.llm.base_url, api_key=key, timeout=settings.llm.timeout_s, max_retries=0
    )
    start = time.perf_counter()
    try:
        reply = client.chat.completions.create(
            model=settings.llm.model,
            messages=[{"role": "user", "content": "Reply with the word OK."}],
            max_tokens=4,
        )
    except openai.APIError as exc:
        message = str(exc)
        if key != "not-needed":
            message = message.replace(key, "***")
        return Check(
            "LLM endpoint",
            "problem",
            f"{where} model {settings.llm.model}: {type(exc).__name__}: {message}",
            "Check the server is running and the URL, model name and key are right "
            "(`press config show` lists them).",
        )
    finally:
        client.close()
    seconds = time.perf_counter() - start
    model = reply.model or settings.llm.model
    return Check("LLM endpoint", "ok", f"{where} model {model} answered in {seconds:.1f} s")


def run_checks(settings: Settings, *, llm: bool = False) -> list[Check]:
    """Every check, in the order the report shows them."""
    checks = [
        Check("version", "ok", f"{DISTRIBUTION} {version()} at {Path(__file__).resolve().parent}"),
        _guard("settings", lambda: check_settings(settings)),
        _guard("package files", check_package_files),
        _guard("prompts", lambda: check_prompts(settings)),
        _guard("token counting", check_tokenizer),
        _guard("embedding model", lambda: check_embeddings(settings)),
        _guard("index", lambda: check_index(settings)),
        _guard("store", lambda: check_store(settings)),
        _guard("outputs", lambda: check_outputs(settings)),
    ]
    if llm:
        checks.append(_guard("LLM endpoint", lambda: check_llm(settings)))
    return checks


def report(checks: list[Check]) -> dict[str, Any]:
    """The checks as the JSON ``press doctor --json`` prints."""
    return {
        "ok": not any(c.status == "problem" for c in checks),
        "checks": [c.as_dict() for c in checks],
    }
