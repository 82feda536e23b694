"""Every test here runs with default settings and no ambient config file."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _defaults(isolated_settings: None) -> None:
    """Apply the root ``isolated_settings`` fixture to every test in this folder."""
