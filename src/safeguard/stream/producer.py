"""The producer helper: partitioned ``XADD`` with back-pressure.

Workers trim acknowledged entries, so ``XLEN`` of a partition is its backlog
(entries not yet decided). ``publish`` waits while a partition's backlog is at
``max_backlog`` or more, and raises ``BackPressureError`` after ``timeout``
seconds: the caller slows down or sheds load instead of growing Redis without
bound.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from redis import Redis

from safeguard.errors import SafeguardError
from safeguard.policy.events import MessageEvent
from safeguard.stream.events import encode_message, partition_key
from safeguard.stream.layout import StreamLayout, partition_for


class BackPressureError(SafeguardError):
    """A partition stayed full for longer than the producer's timeout."""


class EventProducer:
    """Adds events to their partition streams, waiting while the backlog is full."""

    def __init__(
        self,
        client: Redis,
        layout: StreamLayout | None = None,
        *,
        max_backlog: int = 100_000,
        timeout: float = 30.0,
        poll: float = 0.05,
    ) -> None:
        self.client = client
        self.layout = layout or StreamLayout()
        self.max_backlog = max_backlog
        self.timeout = timeout
        self.poll = poll
        self.layout.ensure(client)

    def backlog(self, k: int) -> int:
        """Entries of partition ``k`` not yet acknowledged and trimmed."""
        return int(self.client.xlen(self.layout.stream(k)))

    def wait_for_room(self, k: int, needed: int = 1) -> None:
        """Block until partition ``k`` has room for ``needed`` entries, or raise."""
        deadline = time.monotonic() + self.timeout
        delay = self.poll
        while self.backlog(k) + needed > self.max_backlog:
            if time.monotonic() >= deadline:
                raise BackPressureError(
                    f"partition {k} backlog stayed above {self.max_backlog} entries for "
                    f"{self.timeout:g}s: are the workers running?"
                )
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def publish_fields(self, fields: Iterable[dict[str, str]]) -> list[str]:
        """Add encoded entries (``encode_message``/``encode_media``); returns their ids."""
        by_partition: dict[int, list[dict[str, str]]] = {}
        order: list[tuple[int, int]] = []
        for entry in fields:
            k = partition_for(partition_key(entry), self.layout.partitions)
            bucket = by_partition.setdefault(k, [])
            order.append((k, len(bucket)))
            bucket.append(entry)
        ids: dict[int, list[str]] = {}
        for k, entries in by_partition.items():
            self.wait_for_room(k, min(len(entries), self.max_backlog))
            pipe = self.client.pipeline(transaction=False)
            for entry in entries:
                pipe.xadd(self.layout.stream(k), entry)
            ids[k] = [str(i) for i in pipe.execute()]
        return [ids[k][i] for k, i in order]

    def publish(self, events: Iterable[MessageEvent]) -> list[str]:
        """Add message events; returns their entry ids (``ms-seq``, the XADD time)."""
        return self.publish_fields(encode_message(e) for e in events)
