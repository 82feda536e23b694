"""Fixtures for the report tests: a SQLite service with a grooming case and a media case."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cases"))

from case_support import bank_benign_image, build
from report_support import Scenario


@pytest.fixture(autouse=True)
def _defaults(isolated_settings: None) -> None:
    """Default settings, data under tmp."""


@pytest.fixture
def scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scenario]:
    """Two cases, and the CLI pointed at the same database."""
    from safeguard.config import get_settings
    from safeguard.store.db import dispose_engines

    url = f"sqlite:///{tmp_path / 'reports.db'}"
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", url)
    get_settings.cache_clear()
    harness, client = build(url)
    sha = bank_benign_image(url)
    grooming = harness.grooming_case()
    media = harness.media("adult-2", ["child-2"], sha, mid="img-1")["case_id"]
    yield Scenario(harness, grooming, media, sha)
    client.__exit__(None, None, None)
    dispose_engines()
