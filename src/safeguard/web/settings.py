"""Console settings from SAFEGUARD_CONSOLE_* variables."""

from __future__ import annotations

from limits import parse_many
from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    """Sessions, cookies, login throttling, and where reviewers' browsers fetch matched media from.

    ``media_url`` is a template on the platform's own media store, e.g.
    ``https://media.internal/by-hash/{sha256}``; Safeguard never stores media.
    Without it the console shows no image (never a picture of the hash).

    Login limits are `limits` strings (``"5/minute; 10 per 10 minutes"``): each
    tier is a moving window, so a guesser who keeps going waits longer each tier.
    """

    model_config = SettingsConfigDict(env_prefix="SAFEGUARD_CONSOLE_", extra="ignore", populate_by_name=True)

    session_hours: float = 8.0
    media_url: str | None = Field(
        None,
        validation_alias=AliasChoices("SAFEGUARD_CONSOLE_MEDIA_URL", "SAFEGUARD_MEDIA_URL"),
        description="where reviewers' browsers fetch a matched file: a template with {sha256}, "
        "{md5}, {pdq} or {message_id}, e.g. https://cdn.example/by-hash/{sha256}",
    )
    secure_cookies: bool = Field(
        True,
        description="mark cookies Secure (sent over HTTPS and to loopback only); "
        "false only for development over plain HTTP",
    )
    login_limits_address_user: str = Field(
        "5/minute; 10 per 10 minutes; 20/hour; 40/day",
        description="login attempts for one username from one client address",
    )
    login_limits_address: str = Field(
        "30/minute; 200/hour; 1000/day",
        description="login attempts from one client address (a shared office address counts as one)",
    )
    login_limits_user: str = Field(
        "20 per 10 minutes; 100/day",
        description="login attempts for one username from anywhere; refuses only addresses that "
        "have already failed for it, so a user on a clean address can still log in",
    )
    login_limits_global: str = Field(
        "60/minute; 1000/hour",
        description="login attempts in all; refuses only addresses with a recent failure",
    )
    throttle_storage_url: str = Field(
        "memory://",
        description="where login counters live (a `limits` storage URL); set redis://HOST:PORT/DB "
        "so the limits hold across `serve --workers N`",
    )
    hash_concurrency: int = Field(
        2, ge=1, le=64, description="password checks (argon2, 64 MiB each) running at once per process"
    )

    @field_validator(
        "login_limits_address_user", "login_limits_address", "login_limits_user", "login_limits_global"
    )
    @classmethod
    def _limits_parse(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(f"not a limits string such as '5/minute; 20/hour': {exc}") from exc
        return value
