"""The report tests' scenario type (a module of its own so tests can import it)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cases"))

from case_support import Harness


@dataclass
class Scenario:
    """A service with a grooming case and a media-match case."""

    harness: Harness
    grooming: str
    media: str
    sha256: str
