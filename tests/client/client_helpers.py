"""Helpers shared by the client tests (a uniquely named module, importable from them)."""

from __future__ import annotations

import numpy as np


def random_hashes(count: int, seed: int = 7) -> list[str]:
    """``count`` random PDQ hashes (hex), far from any photo's hash."""
    raw = np.random.default_rng(seed).integers(0, 256, size=(count, 32), dtype=np.uint8).tobytes().hex()
    return [raw[i : i + 64] for i in range(0, len(raw), 64)]
