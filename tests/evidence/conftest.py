"""Fixtures for the evidence tests: a migrated database per backend, and a SQLite one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _defaults(isolated_settings: None) -> None:
    """Default settings, data under tmp."""


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    """A fresh migrated SQLite database."""
    from safeguard.store.db import dispose_engines, get_engine

    url = f"sqlite:///{tmp_path / 'evidence.db'}"
    get_engine(url)
    yield url
    dispose_engines()
