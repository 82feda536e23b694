"""Fixtures for the console tests: a SQLite service with console users."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from web_support import Harness, build, create_users


@pytest.fixture(autouse=True)
def _defaults(isolated_settings: None) -> None:
    """Default settings, data under tmp."""


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Harness]:
    """A service with users rev, rev2 (reviewers) and boss (admin)."""
    from safeguard.store.db import dispose_engines

    url = f"sqlite:///{tmp_path / 'console.db'}"
    harness, client = build(url)
    create_users(url)
    yield harness
    client.__exit__(None, None, None)
    dispose_engines()
