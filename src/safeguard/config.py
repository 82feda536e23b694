"""Settings in one place: a TOML file plus SAFEGUARD_* environment variables."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Deployment settings. Environment variables override the TOML file
    (``SAFEGUARD_CONFIG``, default ``./safeguard.toml`` when it exists)."""

    model_config = SettingsConfigDict(env_prefix="SAFEGUARD_", extra="ignore")

    data_dir: Path = Path("./data")
    database_url: str | None = None

    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL: SAFEGUARD_DATABASE_URL, else SQLite under data_dir."""
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'safeguard.db').resolve()}"


def _toml_values() -> dict:
    path = Path(os.environ.get("SAFEGUARD_CONFIG", "safeguard.toml"))
    if not path.is_file():
        return {}
    import tomllib

    with path.open("rb") as handle:
        return tomllib.load(handle)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings for this process (cached; tests call ``get_settings.cache_clear()``)."""
    return Settings(**_toml_values())
