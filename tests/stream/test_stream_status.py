"""The stream probe on a real Redis: lag per partition, pending, dead letters; the stream door's latency."""

from __future__ import annotations

from datetime import UTC, datetime

import redis
from stream_support import Running, message, seed_accounts, wait_until

from safeguard.config import StreamFront
from safeguard.stream import EventProducer, StreamLayout
from safeguard.stream.status import RedisStreamProbe, partition_lag


def test_probe_reads_lag_pending_and_dead_letters(redis_url: str) -> None:
    layout = StreamLayout("p1", partitions=2)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    producer = EventProducer(client, layout)
    producer.publish([message(i, conversations=1) for i in range(5)])
    k = next(k for k in range(2) if client.xlen(layout.stream(k)))
    client.xreadgroup(layout.group, "w1", {layout.stream(k): ">"}, count=2)
    client.xadd(layout.dead, {"reason": "invalid event: test"})
    probe = RedisStreamProbe(StreamFront(url=redis_url, prefix="p1", partitions=2))
    assert probe.ping()
    status = probe.read(datetime.now(UTC))
    assert status.error is None
    read = status.partitions[k]
    assert (read.backlog, read.pending, read.lag) == (5, 2, 3)
    other = status.partitions[1 - k]
    assert (other.backlog, other.pending) == (0, 0)
    assert status.dead_letters == 1
    assert status.live_workers == 0


def test_probe_names_the_error_when_redis_is_down() -> None:
    probe = RedisStreamProbe(StreamFront(url="redis://127.0.0.1:9/0", prefix="p2", partitions=1))
    assert not probe.ping()
    status = probe.read(datetime.now(UTC))
    assert status.error is not None and status.error.startswith("ConnectionError")
    assert status.partitions == []


def test_partition_lag_from_replies_is_pure() -> None:
    lag = partition_lag(3, 7, {"pending": 2, "lag": None}, [("1000-0", {})], now_ms=4000)
    assert (lag.partition, lag.backlog, lag.pending, lag.lag, lag.oldest_seconds) == (3, 7, 2, None, 3.0)
    assert partition_lag(0, 0, {}, [], now_ms=1).oldest_seconds == 0.0


def test_worker_observes_stream_decision_latency(redis_url: str, db_url: str) -> None:
    seed_accounts(db_url)
    layout = StreamLayout("p3", partitions=1)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    EventProducer(client, layout).publish([message(i) for i in range(6)])
    running = Running(redis_url, db_url, layout)
    worker = running.start()
    try:
        wait_until(lambda: client.xlen(layout.results) >= 6)
    finally:
        running.stop()
    registry = worker.decider.services.metrics.registry
    assert registry.get_sample_value("safeguard_message_decision_seconds_count", {"door": "stream"}) == 6
