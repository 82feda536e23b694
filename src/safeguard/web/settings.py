"""Console settings from SAFEGUARD_CONSOLE_* variables."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    """Session lifetime, and where reviewers' browsers fetch matched media from.

    ``media_url`` is a template on the platform's own media store, e.g.
    ``https://media.internal/by-hash/{sha256}``; Safeguard never stores media.
    Without it the console shows a rendering of the PDQ hash instead.
    """

    model_config = SettingsConfigDict(env_prefix="SAFEGUARD_CONSOLE_", extra="ignore")

    session_hours: float = 8.0
    media_url: str | None = None
    secure_cookies: bool = False
