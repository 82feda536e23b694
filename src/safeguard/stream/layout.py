"""Key names of one deployment's streams, and the partition of an event key."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from redis import Redis

from safeguard.errors import SafeguardError

DEFAULT_PARTITIONS = 8


def partition_for(key: str, partitions: int) -> int:
    """The partition of ``key`` (a conversation or sender id): stable across processes."""
    return zlib.crc32(key.encode("utf-8")) % partitions


@dataclass(frozen=True, slots=True)
class StreamLayout:
    """Where events, results, dead letters, leases and workers live in Redis."""

    prefix: str = "safeguard"
    partitions: int = DEFAULT_PARTITIONS
    group: str = "deciders"

    def stream(self, k: int) -> str:
        """The event stream of partition ``k``."""
        return f"{self.prefix}:events:{k}"

    def streams(self) -> list[str]:
        return [self.stream(k) for k in range(self.partitions)]

    def partition_of_stream(self, stream: str) -> int:
        return int(stream.rsplit(":", 1)[1])

    @property
    def results(self) -> str:
        """Decisions, one entry per processed event (at-least-once)."""
        return f"{self.prefix}:results"

    @property
    def dead(self) -> str:
        """Events given up on, with the reason."""
        return f"{self.prefix}:dead"

    @property
    def workers(self) -> str:
        """Sorted set of live workers scored by heartbeat expiry (ms)."""
        return f"{self.prefix}:workers"

    @property
    def meta(self) -> str:
        return f"{self.prefix}:meta"

    def lease(self, k: int) -> str:
        return f"{self.prefix}:lease:{k}"

    def failures(self, k: int) -> str:
        """Hash: entry id -> failed attempts of partition ``k``'s events."""
        return f"{self.prefix}:failures:{k}"

    def errors(self, k: int) -> str:
        """Hash: entry id -> last error of partition ``k``'s events."""
        return f"{self.prefix}:errors:{k}"

    def ensure(self, client: Redis) -> None:
        """Create the consumer groups and check every process agrees on the partition count."""
        client.hsetnx(self.meta, "partitions", self.partitions)
        stored = int(client.hget(self.meta, "partitions"))
        if stored != self.partitions:
            raise SafeguardError(
                f"stream prefix '{self.prefix}' was set up with {stored} partitions, not "
                f"{self.partitions}: use --partitions {stored} (or another --prefix)"
            )
        for stream in self.streams():
            try:
                client.xgroup_create(stream, self.group, id="0", mkstream=True)
            except Exception as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
