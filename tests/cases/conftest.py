"""Fixtures for the case tests: an in-process service per backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from case_support import Harness, build


@pytest.fixture(autouse=True)
def _defaults(isolated_settings: None) -> None:
    """Default settings, data under tmp."""


@pytest.fixture
def harness(db_url: str) -> Iterator[Harness]:
    """A service on SQLite and on PostgreSQL."""
    svc, client = build(db_url)
    yield svc
    client.__exit__(None, None, None)


@pytest.fixture
def lite(tmp_path) -> Iterator[Harness]:  # type: ignore[no-untyped-def]
    """A service on SQLite only (for tests that do not depend on the backend)."""
    from safeguard.store.db import dispose_engines

    svc, client = build(f"sqlite:///{tmp_path / 'cases.db'}")
    yield svc
    client.__exit__(None, None, None)
    dispose_engines()
