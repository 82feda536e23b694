"""Reading a stream deployment for operators: lag per partition, dead letters, live workers.

One pipeline per reading: per partition ``XLEN`` (the backlog: workers trim what they
acknowledged), ``XINFO GROUPS`` (entries read but not acknowledged, and entries not yet
read) and the oldest entry (``XRANGE - + COUNT 1``, its id is its add time); then
``XLEN`` of the dead-letter stream and the live workers in the heartbeat set.
"""

from __future__ import annotations

import time
from datetime import datetime

from redis import Redis
from redis.exceptions import RedisError

from safeguard.config import StreamFront
from safeguard.service.status import PartitionLag, StreamStatus
from safeguard.stream.layout import StreamLayout

TIMEOUT_SECONDS = 2.0


def _entry_ms(entry_id: str) -> int:
    return int(str(entry_id).split("-", 1)[0])


def _group(groups: list[dict], name: str) -> dict:
    return next((g for g in groups if g.get("name") == name), {})


def partition_lag(k: int, length: int, group: dict, first: list, now_ms: int) -> PartitionLag:
    """One partition's lag from what Redis answered (pure)."""
    lag = group.get("lag")
    oldest = (now_ms - _entry_ms(first[0][0])) / 1000 if first else 0.0
    return PartitionLag(
        partition=k,
        backlog=int(length),
        pending=int(group.get("pending") or 0),
        lag=None if lag is None else int(lag),
        oldest_seconds=max(0.0, oldest),
    )


class RedisStreamProbe:
    """Reads the deployment described by ``[stream]`` (url, prefix, partitions, group)."""

    def __init__(self, config: StreamFront, client: Redis | None = None) -> None:
        if config.url is None and client is None:
            raise ValueError("a stream probe needs [stream] url")
        self.layout = StreamLayout(config.prefix, config.partitions, config.group)
        self.client = client or Redis.from_url(
            str(config.url),
            decode_responses=True,
            socket_timeout=TIMEOUT_SECONDS,
            socket_connect_timeout=TIMEOUT_SECONDS,
        )

    def ping(self) -> bool:
        """True when Redis answers."""
        try:
            return bool(self.client.ping())
        except RedisError:
            return False

    def read(self, now: datetime | None = None) -> StreamStatus:
        """The deployment's state; ``error`` names what failed when Redis cannot be read."""
        layout = self.layout
        now_ms = int((now.timestamp() if now else time.time()) * 1000)
        try:
            pipe = self.client.pipeline(transaction=False)
            for stream in layout.streams():
                pipe.exists(stream)
            exists = pipe.execute()
            pipe = self.client.pipeline(transaction=False)
            present = [k for k, found in enumerate(exists) if found]
            for k in present:
                pipe.xlen(layout.stream(k))
                pipe.xinfo_groups(layout.stream(k))
                pipe.xrange(layout.stream(k), count=1)
            pipe.exists(layout.dead)
            pipe.zcount(layout.workers, now_ms, "+inf")
            replies = pipe.execute()
            dead = int(self.client.xlen(layout.dead)) if replies[-2] else 0
        except RedisError as exc:
            return StreamStatus(layout.prefix, error=f"{type(exc).__name__}: {exc}".splitlines()[0][:200])
        read = {}
        for i, k in enumerate(present):
            length, groups, first = replies[3 * i : 3 * i + 3]
            read[k] = partition_lag(k, length, _group(groups, layout.group), first, now_ms)
        partitions = [read.get(k) or PartitionLag(k, 0, 0, 0, 0.0) for k in range(layout.partitions)]
        return StreamStatus(layout.prefix, partitions, dead_letters=dead, live_workers=int(replies[-1]))
