"""Settings groups of the service side: the article store, the review workflow and the web desk.
"""

from __future__ import annotations

import ipaddress

from pydantic import Field, SecretStr, field_validator

from pipeline.settings.group import SettingsGroup


class StoreSettings(SettingsGroup):
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


class ReviewSettings(SettingsGroup):
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


class WebSettings(SettingsGroup):
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
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError as exc:
                raise ValueError(f"{entry!r} is not an IP address or network") from exc
        return value
