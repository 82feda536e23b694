"""The stream worker's progress line: counts per partition, rates, interval, shutdown line.

The clock is injected (a list of instants), so no test sleeps to make time pass.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import pytest
import redis
import structlog
from stream_support import fast_config, message, seed_accounts, wait_until
from structlog.testing import capture_logs

from safeguard.config import Settings
from safeguard.stream import EventProducer, StreamLayout, StreamWorker
from safeguard.stream.decide import Decider
from safeguard.stream.progress import ProgressLog, WorkerStats


class Clock:
    """Instants set by the test."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _lines(logs: list[dict], event: str) -> list[dict]:
    return [entry for entry in logs if entry["event"] == event]


def test_stats_count_totals_and_partitions() -> None:
    stats = WorkerStats()
    stats.add(0, "decided", 3)
    stats.add(1, "replayed")
    stats.add(1, "dead")
    stats.add(2, "claimed", 4)
    stats.add(2, "failures")
    stats.add(3, "claimed", 0)
    assert (stats.decided, stats.replayed, stats.dead, stats.claimed, stats.failures) == (3, 1, 1, 4, 1)
    assert stats.processed == 5
    assert sorted(stats.partitions) == [0, 1, 2]
    assert stats.partitions[1].processed == 2 and stats.partitions[2].claimed == 4


def test_progress_is_logged_every_interval_with_rates() -> None:
    clock = Clock()
    progress = ProgressLog("w1", seconds=30.0, events=0, clock=clock)
    stats = WorkerStats()
    with capture_logs() as logs:
        stats.add(0, "decided", 40)
        stats.add(1, "decided", 20)
        clock.now += 29.9
        assert not progress.maybe_log(stats)
        clock.now += 0.1
        assert progress.maybe_log(stats)
        stats.add(1, "decided", 30)
        stats.add(1, "dead", 3)
        stats.add(0, "claimed", 7)
        clock.now += 15
        assert not progress.maybe_log(stats)
        clock.now += 15
        assert progress.maybe_log(stats)
    first, second = _lines(logs, "stream progress")
    assert first["worker"] == "w1" and first["log_level"] == "info"
    assert (first["processed"], first["decided"], first["dead_lettered"]) == (60, 60, 0)
    assert first["seconds"] == pytest.approx(30.0) and first["rate_per_second"] == 2.0
    assert first["partitions"] == {
        "0": {"processed": 40, "dead_lettered": 0, "reclaimed": 0, "rate_per_second": 1.3},
        "1": {"processed": 20, "dead_lettered": 0, "reclaimed": 0, "rate_per_second": 0.7},
    }
    assert (second["processed"], second["dead_lettered"], second["reclaimed"]) == (93, 3, 7)
    assert second["rate_per_second"] == 1.1  # 33 events in the last 30 s
    assert second["partitions"]["0"] == {
        "processed": 40,
        "dead_lettered": 0,
        "reclaimed": 7,
        "rate_per_second": 0.0,
    }
    assert second["partitions"]["1"] == {
        "processed": 53,
        "dead_lettered": 3,
        "reclaimed": 0,
        "rate_per_second": 1.1,
    }


def test_progress_is_logged_after_enough_events_without_time_passing() -> None:
    clock = Clock()
    progress = ProgressLog("w1", seconds=30.0, events=10_000, clock=clock)
    stats = WorkerStats()
    with capture_logs() as logs:
        stats.add(5, "decided", 9_999)
        assert not progress.maybe_log(stats)
        stats.add(5, "replayed")
        assert progress.maybe_log(stats)
        stats.add(5, "decided", 9_999)
        assert not progress.maybe_log(stats)
    [line] = _lines(logs, "stream progress")
    assert (line["processed"], line["decided"], line["replayed"]) == (10_000, 9_999, 1)
    assert line["seconds"] == 0 and line["rate_per_second"] == 0.0


def test_zero_turns_periodic_lines_off_and_shutdown_logs_totals() -> None:
    clock = Clock()
    progress = ProgressLog("w2", seconds=0, events=0, clock=clock)
    stats = WorkerStats()
    with capture_logs() as logs:
        stats.add(0, "decided", 500)
        stats.add(0, "failures", 2)
        clock.now += 3600
        assert not progress.maybe_log(stats)
        clock.now += 400
        progress.final(stats)
    assert not _lines(logs, "stream progress")
    [final] = _lines(logs, "stream worker stopped")
    assert (final["processed"], final["failures"], final["seconds"]) == (500, 2, 4000)
    assert final["rate_per_second"] == 0.1


def _worker_run(redis_url: str, db_url: str, prefix: str) -> tuple[StreamWorker, StreamLayout, redis.Redis]:
    seed_accounts(db_url)
    layout = StreamLayout(prefix, partitions=2)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    producer = EventProducer(client, layout)
    producer.publish([message(i) for i in range(25)])
    producer.publish_fields([{"kind": "message", "data": "{not json"}, {"kind": "telepathy", "data": "{}"}])
    decider = Decider.from_settings(Settings(database_url=db_url, detector_embeddings=False))
    return StreamWorker(client, decider, layout, fast_config(batch=8)), layout, client


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_worker_logs_its_counts_while_running_and_at_shutdown(redis_url: str, db_url: str) -> None:
    worker, layout, client = _worker_run(redis_url, db_url, "p1")
    clock = Clock()
    worker.progress = ProgressLog(worker.name, seconds=30.0, events=10, clock=clock)
    stop = threading.Event()
    with capture_logs() as logs:
        thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        thread.start()
        try:
            wait_until(lambda: client.xlen(layout.results) + client.xlen(layout.dead) >= 27)
        finally:
            stop.set()
            thread.join(timeout=30)
            worker.decider.close()
    stats = worker.stats
    assert (stats.decided, stats.dead, stats.processed) == (25, 2, 27)
    periodic = _lines(logs, "stream progress")
    assert periodic, "no progress line"
    seen = 0
    for line in periodic:
        assert line["processed"] - seen >= 10  # one line per 10 events at most (batches of 8)
        seen = line["processed"]
        assert sum(p["processed"] for p in line["partitions"].values()) == line["processed"]
    [final] = _lines(logs, "stream worker stopped")
    assert (final["processed"], final["decided"], final["dead_lettered"]) == (27, 25, 2)
    assert set(final["partitions"]) == {"0", "1"}
    published = [f["stream"] for _, f in client.xrange(layout.results) + client.xrange(layout.dead)]
    dead = [f["stream"] for _, f in client.xrange(layout.dead)]
    for k, counts in final["partitions"].items():
        assert counts["processed"] == published.count(layout.stream(int(k)))
        assert counts["dead_lettered"] == dead.count(layout.stream(int(k)))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_worker_command_logs_progress_as_json_on_stderr(
    redis_url: str, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from safeguard.cli import app
    from safeguard.config import get_settings

    _worker_run(redis_url, db_url, "p2")[0].decider.close()
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", db_url)
    get_settings.cache_clear()
    args = ["worker", "--stream", redis_url, "--prefix", "p2", "--partitions", "2", "--batch", "8"]
    args += ["--block-ms", "100", "--lease-ms", "3000", "--exit-when-idle", "2", "--progress-events", "10"]
    try:
        result = CliRunner().invoke(app, args)
    finally:
        structlog.reset_defaults()
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    logged: list[dict] = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    events: Callable[[str], list[dict]] = lambda name: [e for e in logged if e["event"] == name]  # noqa: E731
    assert events("stream progress") and all(e["processed"] >= 10 for e in events("stream progress"))
    [final] = events("stream worker stopped")
    assert (final["processed"], final["dead_lettered"]) == (27, 2)
    assert "decided 25, replayed 0, dead-lettered 2" in result.stderr
