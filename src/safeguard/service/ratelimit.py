"""Rate limits per API key and per sender account, with the ``limits`` library.

Two kinds of limit protect the service: each API key (a platform's integration)
gets a sustained rate with bursts, and each *sender account* gets a limit on the
messages it submits, so one end user (or a script contacting many children)
cannot take the service's capacity or flood conversations. Counters live in the
storage the settings name: ``memory://`` (one process), or ``redis://...``, which
every ``serve --workers N`` process and every instance share. With memory
storage and several workers, each process holds its share of every limit
(``share_limits``, applied by ``serve``), so the total never exceeds the limit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from limits import RateLimitItem, RateLimitItemPerSecond, parse_many
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

log = structlog.get_logger("safeguard.api")


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request over a limit: which limit, and when to try again."""

    limit: str
    retry_after: float

    def retry_after_header(self) -> str:
        """Whole seconds for ``Retry-After`` (at least 1)."""
        return str(max(1, math.ceil(self.retry_after)))


def key_limits(rate_per_second: float, burst: int) -> list[RateLimitItem]:
    """A sustained ``rate_per_second`` with bursts of ``burst``: ``burst`` requests in the
    time the rate takes to earn them (a sliding window), and never more than ``burst`` a second."""
    window = max(1, math.ceil(burst / rate_per_second))
    return [RateLimitItemPerSecond(burst, window)]


def share_limits(limits_text: str, parts: int) -> str:
    """Each of ``parts`` processes' share of limits in ``limits`` notation."""
    if parts <= 1 or not limits_text.strip():
        return limits_text
    return ";".join(
        f"{max(1, item.amount // parts)}/{item.multiples} {item.GRANULARITY.name}"
        for item in parse_many(limits_text)
    )


class RateLimiter:
    """Counts requests per API key and messages per sender against their limits."""

    def __init__(
        self,
        key_items: Sequence[RateLimitItem],
        sender_items: Sequence[RateLimitItem],
        storage_uri: str = "memory://",
    ) -> None:
        self.shared = not storage_uri.startswith("memory://")
        self.key_items = list(key_items)
        self.sender_items = list(sender_items)
        self._storage = storage_from_string(storage_uri)
        self._strategy = SlidingWindowCounterRateLimiter(self._storage)

    def storage_ok(self) -> bool:
        """Whether the counters' storage answers (readiness)."""
        try:
            return bool(self._storage.check())
        except Exception:
            return False

    def _take(self, namespace: str, identity: str, items: Sequence[RateLimitItem]) -> Refusal | None:
        for item in items:
            try:
                if self._strategy.hit(item, namespace, identity):
                    continue
                stats = self._strategy.get_window_stats(item, namespace, identity)
            except Exception as exc:  # the shared store is down: decisions matter more than limits
                log.warning("rate limit storage unavailable; request allowed", error=type(exc).__name__)
                return None
            return Refusal(str(item), max(0.0, stats.reset_time - time.time()))
        return None

    def allow(self, key_id: str) -> tuple[bool, float]:
        """Count one request for an API key: (allowed, seconds until it may try again)."""
        refusal = self._take("key", key_id, self.key_items)
        return (True, 0.0) if refusal is None else (False, refusal.retry_after)

    def sender(self, sender_id: str) -> Refusal | None:
        """Count one message submitted for ``sender_id``; a ``Refusal`` when over its limit."""
        return self._take("sender", sender_id, self.sender_items)


def build_limiter(rate_per_second: float, burst: int, sender_limits: str, storage_uri: str) -> RateLimiter:
    """The limiter the settings describe (``sender_limits`` in ``limits`` notation,
    e.g. ``"10/second;120/minute"``; empty for none)."""
    senders = parse_many(sender_limits) if sender_limits.strip() else []
    return RateLimiter(key_limits(rate_per_second, burst), senders, storage_uri)
