"""What a stream worker did, per partition, and the progress line it logs.

``WorkerStats`` counts events decided, replayed (answered from the store),
dead-lettered, failed and reclaimed (``XAUTOCLAIM``), in total and per partition.
``ProgressLog`` writes one structlog line, ``stream progress``, every ``seconds``
or every ``events`` processed events (whichever comes first; ``0`` turns either
off), and ``stream worker stopped`` at shutdown. *Processed* means acknowledged:
decided + replayed + dead-lettered. Rates are per second over the interval since
the previous line (since start for the shutdown line). The clock is injectable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import structlog

log = structlog.get_logger("safeguard.stream")

KINDS = ("decided", "replayed", "dead", "failures", "claimed")


@dataclass(slots=True)
class PartitionCounts:
    """One partition's counts."""

    decided: int = 0
    replayed: int = 0
    dead: int = 0
    failures: int = 0
    claimed: int = 0

    @property
    def processed(self) -> int:
        """Events acknowledged: decided, replayed or dead-lettered."""
        return self.decided + self.replayed + self.dead

    def copy(self) -> PartitionCounts:
        return PartitionCounts(*(getattr(self, f.name) for f in fields(self)))


@dataclass(slots=True)
class WorkerStats:
    """What this worker did, in total and per partition."""

    decided: int = 0
    replayed: int = 0
    dead: int = 0
    failures: int = 0
    claimed: int = 0
    partitions: dict[int, PartitionCounts] = field(default_factory=dict)

    @property
    def processed(self) -> int:
        """Events acknowledged: decided, replayed or dead-lettered."""
        return self.decided + self.replayed + self.dead

    def add(self, partition: int, kind: str, count: int = 1) -> None:
        """Count ``count`` events of ``kind`` (one of ``KINDS``) on ``partition``."""
        if not count:
            return
        setattr(self, kind, getattr(self, kind) + count)
        counts = self.partitions.get(partition)
        if counts is None:
            counts = self.partitions[partition] = PartitionCounts()
        setattr(counts, kind, getattr(counts, kind) + count)


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


class ProgressLog:
    """Logs a worker's counts periodically and at shutdown."""

    def __init__(
        self,
        worker: str,
        seconds: float = 30.0,
        events: int = 10_000,
        *,
        clock: Callable[[], float] = time.monotonic,
        logger: Any = None,
    ) -> None:
        self.worker, self.seconds, self.events, self.clock = worker, seconds, events, clock
        self.log = logger if logger is not None else log
        self.started = self._since = clock()
        self._processed = 0
        self._previous: dict[int, PartitionCounts] = {}

    def maybe_log(self, stats: WorkerStats) -> bool:
        """Log ``stream progress`` if an interval or the event count is due; True if it did."""
        now = self.clock()
        due = (self.seconds > 0 and now - self._since >= self.seconds) or (
            self.events > 0 and stats.processed - self._processed >= self.events
        )
        if due:
            self._emit("stream progress", stats, now - self._since, self._previous)
            self._since, self._processed = now, stats.processed
            self._previous = {k: c.copy() for k, c in stats.partitions.items()}
        return due

    def final(self, stats: WorkerStats) -> None:
        """Log ``stream worker stopped`` with the totals and the rate since start."""
        self._emit("stream worker stopped", stats, self.clock() - self.started, {})

    def _emit(
        self, event: str, stats: WorkerStats, seconds: float, previous: dict[int, PartitionCounts]
    ) -> None:
        before = sum(c.processed for c in previous.values())
        partitions = {}
        for k in sorted(stats.partitions):
            counts = stats.partitions[k]
            done = counts.processed - (previous[k].processed if k in previous else 0)
            partitions[str(k)] = {
                "processed": counts.processed,
                "dead_lettered": counts.dead,
                "reclaimed": counts.claimed,
                "rate_per_second": _rate(done, seconds),
            }
        self.log.info(
            event,
            worker=self.worker,
            processed=stats.processed,
            decided=stats.decided,
            replayed=stats.replayed,
            dead_lettered=stats.dead,
            failures=stats.failures,
            reclaimed=stats.claimed,
            seconds=round(seconds, 3),
            rate_per_second=_rate(stats.processed - before, seconds),
            partitions=partitions,
        )
