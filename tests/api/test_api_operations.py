"""Operator views over HTTP: backlog gauges and latency histograms on /metrics; /readyz checks."""

from __future__ import annotations

from collections.abc import Callable

from api_support import Service

from safeguard.store.db import session_scope


def _metrics(service: Service) -> str:
    response = service.client.get("/metrics", headers=service.auth("admin"))
    assert response.status_code == 200, response.text
    return response.text


def test_metrics_show_backlog_gauges(make_service: Callable[..., Service]) -> None:
    service = make_service(operations={"backlog_cache_seconds": 0})
    with session_scope(service.url) as session:
        from safeguard.cases.models import CaseRow

        session.add(CaseRow(id="c1", kind="grooming", source="test", subject_account_id="adult-1"))
    text = _metrics(service)
    assert "safeguard_backlog_up 1.0" in text
    assert 'safeguard_cases_open{kind="grooming"} 1.0' in text
    assert 'safeguard_cases_open_by_age{age="under_1h",kind="grooming"} 1.0' in text
    assert 'safeguard_webhook_deliveries{state="failed"} 0.0' in text
    assert "safeguard_stream_up" not in text


def _count(text: str, series: str) -> float:
    """A sample's value in a Prometheus exposition (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0.0


def test_metrics_time_the_detector_and_the_api_decision(service: Service) -> None:
    # The registry is the process's: other tests in this worker may have counted already.
    detector, decision = (
        "safeguard_detector_seconds_count",
        'safeguard_message_decision_seconds_count{door="api"}',
    )
    before = _metrics(service)
    service.message("adult-2", ["child-1"], "hi there", message_id="m1")
    service.message("adult-2", ["child-1"], "how was school", message_id="m2")
    after = _metrics(service)
    assert _count(after, decision) - _count(before, decision) == 2.0
    # At least once per message (a message decided again under the locks is timed again).
    assert _count(after, detector) - _count(before, detector) >= 2.0


def test_readyz_names_the_stream_check(make_service: Callable[..., Service], redis_url: str) -> None:
    service = make_service(stream={"url": redis_url})
    body = service.client.get("/readyz").json()
    assert body["checks"]["stream"] == "ok"
    assert body["checks"]["database"] == "ok"


def test_readyz_fails_when_the_stream_is_down(make_service: Callable[..., Service]) -> None:
    service = make_service(stream={"url": "redis://127.0.0.1:9/0"})
    response = service.client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["stream"] == "failed: unreachable"
    assert service.client.get("/healthz").status_code == 200


def test_metrics_report_an_unreachable_stream(make_service: Callable[..., Service]) -> None:
    service = make_service(stream={"url": "redis://127.0.0.1:9/0"}, operations={"backlog_cache_seconds": 0})
    assert "safeguard_stream_up 0.0" in _metrics(service)
