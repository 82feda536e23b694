"""Operator readings: backlog by kind and age, reviewer decisions, webhooks, and the gauges."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from status_support import NOW, seed

from safeguard.config import Settings
from safeguard.service.metrics import BacklogCollector, backlog_metrics
from safeguard.service.status import PartitionLag, StatusReader, StreamStatus, read_status
from safeguard.store.db import get_sessionmaker, session_scope


def _status(db_url: str):  # type: ignore[no-untyped-def]
    with session_scope(db_url) as session:
        seed(session)
    with get_sessionmaker(db_url)() as session:
        return read_status(session, Settings(database_url=db_url), now=NOW)


def test_cases_by_kind_and_age(db_url: str) -> None:
    status = _status(db_url)
    kinds = {k.kind: k for k in status.cases}
    assert set(kinds) == {"grooming", "report"}
    grooming = kinds["grooming"]
    assert grooming.open == 3
    assert grooming.by_age == {"under_1h": 1, "1h_to_24h": 1, "over_24h": 1}
    assert round(grooming.oldest_seconds) == 3 * 86400
    assert kinds["report"].by_age == {"under_1h": 1, "1h_to_24h": 0, "over_24h": 0}
    assert status.open_cases == 4
    assert round(status.oldest_open_seconds) == 3 * 86400


def test_decisions_per_reviewer_within_window(db_url: str) -> None:
    status = _status(db_url)
    assert status.decisions_by_reviewer == {"alice": 2, "bob": 1}
    assert status.decisions_window_hours == 24


def test_webhook_backlog(db_url: str) -> None:
    hooks = _status(db_url).webhooks
    assert (hooks.pending, hooks.retrying, hooks.failed, hooks.delivered) == (2, 1, 1, 1)
    assert round(hooks.oldest_pending_seconds) == 2 * 3600


def test_status_json_is_flat_and_complete(db_url: str) -> None:
    body = _status(db_url).to_dict()
    assert body["open_cases"] == 4
    assert body["stream"] is None
    assert body["webhooks"]["failed"] == 1


def test_gauges_of_a_reading(db_url: str) -> None:
    status = _status(db_url)
    registry = CollectorRegistry()

    class Fixed(BacklogCollector):
        def collect(self):  # type: ignore[no-untyped-def]
            yield from backlog_metrics(status)

    registry.register(Fixed(None))  # type: ignore[arg-type]
    text = generate_latest(registry).decode()
    assert 'safeguard_cases_open{kind="grooming"} 3.0' in text
    assert 'safeguard_cases_open_by_age{age="over_24h",kind="grooming"} 1.0' in text
    assert 'safeguard_reviewer_decisions{reviewer="alice"} 2.0' in text
    assert 'safeguard_webhook_deliveries{state="retrying"} 1.0' in text
    assert "safeguard_stream_up" not in text


def test_stream_gauges_and_unreachable_stream() -> None:
    base = {"at": "t", "cases": [], "decisions_window_hours": 24.0, "decisions_by_reviewer": {}}
    from safeguard.service.status import Status, WebhookBacklog

    up = Status(
        **base,
        webhooks=WebhookBacklog(),
        stream=StreamStatus("sg", [PartitionLag(0, 5, 2, 3, 1.5)], dead_letters=4, live_workers=1),
    )
    names = {m.name: m for m in backlog_metrics(up)}
    assert names["safeguard_stream_up"].samples[0].value == 1
    assert names["safeguard_stream_lag"].samples[0].labels == {"partition": "0"}
    assert names["safeguard_stream_lag"].samples[0].value == 3
    assert names["safeguard_stream_dead_letters"].samples[0].value == 4
    down = Status(**base, webhooks=WebhookBacklog(), stream=StreamStatus("sg", error="ConnectionError"))
    names = {m.name: m for m in backlog_metrics(down)}
    assert names["safeguard_stream_up"].samples[0].value == 0
    assert "safeguard_stream_lag" not in names


def test_reader_caches_within_max_age(db_url: str) -> None:
    with session_scope(db_url) as session:
        seed(session)
    clock = [0.0]
    reader = StatusReader(get_sessionmaker(db_url), Settings(database_url=db_url), clock=lambda: clock[0])
    first = reader.read(max_age=10)
    assert reader.read(max_age=10) is first
    clock[0] = 11.0
    assert reader.read(max_age=10) is not first


def test_failed_read_reports_backlog_down() -> None:
    class Broken:
        def read(self):  # type: ignore[no-untyped-def]
            raise RuntimeError("database down")

    metrics = list(BacklogCollector(Broken()).collect())  # type: ignore[arg-type]
    assert [(m.name, m.samples[0].value) for m in metrics] == [("safeguard_backlog_up", 0)]
