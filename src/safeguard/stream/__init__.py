"""Stream workers: Redis Streams consumer groups feeding the same engine as the API.

Design: **partitioning by conversation id**, not shared state.

Events go to ``P`` partition streams ``{prefix}:events:{k}`` with
``k = crc32(key) mod P`` (the key is the conversation id of a message, the
sender id of a media event), each with one consumer group. A worker owns a
partition through a lease (``SET {prefix}:lease:{k} worker NX PX ttl``,
renewed by the worker's heartbeat); live workers share the partitions evenly
(each wants ``ceil(P / live workers)``), so adding a worker moves partitions
to it and a dead worker's partitions are taken over when its leases expire.

Why partitioning: a conversation's detector state is a running fold over its
messages *in order*. With shared state and row locks, two workers would keep
the state consistent but could still apply message 5 before message 4; with
one owner per partition the stream order is the processing order, there is
no lock contention between workers, and it holds on SQLite as well as on
PostgreSQL. Before deciding a batch a worker checks it still holds the leases
of its entries (fencing) and drops the others; the store's own guarantees
(idempotency on ``message_id``, ``SELECT ... FOR UPDATE`` on PostgreSQL)
remain the safety net for a worker paused between that check and its commit.
The cost: at most one worker per partition, so ``partitions`` bounds the
useful number of workers (it is fixed per prefix; every process checks it).

Delivery: at-least-once from Redis, exactly-once effects in the store. An
entry is acknowledged (``XACK``) only after its decision is committed and its
result published; a redelivered entry is answered from the store
(``created = False``) and never re-applied to the conversation state. A new
partition owner first claims every entry left pending by others
(``XAUTOCLAIM`` with a min-idle time) and processes them, in stream order,
before it reads new entries.

Failures: an event that fails ``max_failures`` times, or is delivered
``max_deliveries`` times without a decision (its worker kept dying), or is
not a valid event, goes to ``{prefix}:dead`` with the reason and is
acknowledged. Later events of a conversation wait while an earlier one is
retried (their delivery count is restored, so it counts attempts). A store
outage (``OperationalError``) pauses the worker with back-off instead of
counting failures.

Back-pressure: a worker holds at most ``batch`` entries in flight
(``XREADGROUP COUNT``); workers trim acknowledged entries, so a partition's
``XLEN`` is its backlog, and ``EventProducer`` waits (then raises
``BackPressureError``) while a partition holds ``max_backlog`` entries or
more. Streams are never trimmed with ``MAXLEN`` on the producer side: that
would drop events no worker has decided. The results and dead-letter streams
are capped (``MAXLEN ~``); dead letters keep the event (message text
included) for replay, so their cap is their retention.
"""

from safeguard.stream.events import StreamEvent, decode_event, encode_media, encode_message
from safeguard.stream.layout import StreamLayout, partition_for
from safeguard.stream.producer import BackPressureError, EventProducer
from safeguard.stream.worker import StreamWorker, WorkerConfig

__all__ = [
    "BackPressureError",
    "EventProducer",
    "StreamEvent",
    "StreamLayout",
    "StreamWorker",
    "WorkerConfig",
    "decode_event",
    "encode_media",
    "encode_message",
    "partition_for",
]
