"""Per-key token-bucket rate limiting, in process."""

from __future__ import annotations

import threading
import time


class RateLimiter:
    """``rate`` requests per second per key, with bursts up to ``burst``."""

    def __init__(self, rate: float, burst: int, clock=time.monotonic) -> None:  # type: ignore[no-untyped-def]
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> tuple[bool, float]:
        """Take one token for ``key``: (allowed, seconds until the next token)."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return True, 0.0
            self._buckets[key] = (tokens, now)
            return False, (1.0 - tokens) / self.rate
