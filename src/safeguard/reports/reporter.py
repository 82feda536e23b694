"""Who is reporting: the platform (ESP) and its contact, from SAFEGUARD_REPORTER_* variables."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class Reporter(BaseSettings):
    """The reporting service and its contact person (``SAFEGUARD_REPORTER_ORG=...``)."""

    model_config = SettingsConfigDict(env_prefix="SAFEGUARD_REPORTER_", extra="ignore")

    org: str = "Example Platform"
    service: str = "Example Platform chat"
    url: str = "https://platform.example"
    first_name: str = "Trust"
    last_name: str = "Safety"
    email: str = "safety@platform.example"
    phone: str | None = None
    country: str = "GB"
    terms_of_service_url: str | None = None
