"""What the settings say about a run: the settings hash, a public view and their sources.

:func:`settings_hash` covers exactly the fields the groups declare ``DRAFTING`` (it is stamped on
every draft and is part of the build cache key); :func:`public_dict` masks secrets and URLs
for provenance; :func:`describe` is ``press config show``: each value and where it came from.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from pathlib import Path
from typing import Any

from pipeline.settings.group import SettingsGroup
from pipeline.settings.load import ENV_PREFIX, Settings, config_path


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
        if isinstance(group, type) and issubclass(group, SettingsGroup):
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
