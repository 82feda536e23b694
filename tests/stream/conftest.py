"""Stream test defaults (the ``redis_url`` fixture is in the root conftest)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _defaults(isolated_settings: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Default settings, and the detector's fast path (no transformer in tests)."""
    monkeypatch.setenv("SAFEGUARD_DETECTOR_EMBEDDINGS", "false")
