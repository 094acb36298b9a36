"""The service-side settings groups (:mod:`pipeline.settings.service`): store, review, web desk."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.settings.load import load_settings
from pipeline.settings.report import settings_hash


def test_trusted_proxies_take_addresses_and_networks_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(home=tmp_path, web={"trusted_proxies": ["10.0.0.0/8", "::1"]})
    assert settings.web.trusted_proxies == ["10.0.0.0/8", "::1"]
    with pytest.raises(ConfigError, match=r"'proxy\.local' is not an IP address or network"):
        load_settings(home=tmp_path, web={"trusted_proxies": ["10.0.0.1", "proxy.local"]})
    # A host name in the environment is refused the same way, naming the field.
    monkeypatch.setenv("PRESS_WEB__TRUSTED_PROXIES", '["gateway"]')
    with pytest.raises(ConfigError, match=r"web\.trusted_proxies") as caught:
        load_settings(home=tmp_path)
    assert "PRESS_" in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("group", "field", "value"),
    [("web", "session_idle_s", 59), ("web", "session_max_age_s", 0), ("web", "draft_workers", 0),
     ("web", "login_attempts", 0), ("store", "busy_timeout_s", -1)],
)  # fmt: skip
def test_out_of_range_service_values_are_refused(
    tmp_path: Path, group: str, field: str, value: float
) -> None:
    with pytest.raises(ConfigError, match=rf"{group}\.{field}"):
        load_settings(home=tmp_path, **{group: {field: value}})


def test_service_fields_never_change_what_is_drafted(tmp_path: Path) -> None:
    """A desk or store change leaves the build cache warm (none of them is a drafting field)."""
    base = load_settings(home=tmp_path)
    changed = load_settings(
        home=tmp_path,
        store={"url": f"sqlite:///{tmp_path / 'other.sqlite'}", "busy_timeout_s": 5},
        review={"default_user": "ann", "desk_url": "https://desk.example.org/"},
        web={"draft_workers": 3, "session_idle_s": 600, "trusted_proxies": ["10.0.0.1"]},
    )
    assert settings_hash(changed) == settings_hash(base)
