"""Prometheus metrics, one registry per app (several apps may live in one test process).

On the message path only counter and histogram updates happen (a few hundred
nanoseconds each). The backlog gauges (open cases, reviewers, webhooks, stream lag) are
computed when ``/metrics`` is scraped, from a :class:`~safeguard.service.status.StatusReader`
that reads the store at most once per ``[operations] backlog_cache_seconds``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from safeguard.service.status import Status, StatusReader

log = structlog.get_logger("safeguard.metrics")
DETECTOR_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1)
DECISION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)


class Metrics:
    """Request counts and latencies, decisions by action, detector and decision latency,
    and (once :meth:`watch_backlog` is called) the backlog gauges."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.backlog: BacklogCollector | None = None
        self.requests = Counter(
            "safeguard_http_requests_total",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "safeguard_http_request_seconds",
            "HTTP request latency by route",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.decisions = Counter(
            "safeguard_decisions_total",
            "Decisions by kind and action",
            ["kind", "action"],
            registry=self.registry,
        )
        self.detector_seconds = Histogram(
            "safeguard_detector_seconds",
            "Time the grooming detector took to score one message (its conversation state's step)",
            buckets=DETECTOR_BUCKETS,
            registry=self.registry,
        )
        self.decision_seconds = Histogram(
            "safeguard_message_decision_seconds",
            "Time from a message reaching the engine to its decision being stored, by door",
            ["door"],
            buckets=DECISION_BUCKETS,
            registry=self.registry,
        )
        self.replays = Counter(
            "safeguard_idempotent_replays_total",
            "Repeated message ids answered from the store",
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "safeguard_rate_limited_total",
            "Requests refused by a rate limit, by limit (key, sender)",
            ["limit"],
            registry=self.registry,
        )

    def watch_backlog(self, reader: StatusReader) -> None:
        """Serve the backlog gauges of ``reader`` from this registry's scrapes."""
        self.backlog = BacklogCollector(reader)
        self.registry.register(self.backlog)

    def render(self) -> bytes:
        """The text exposition format (summed over the server's processes when there are several)."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            if self.backlog is not None:
                registry.register(self.backlog)
            return generate_latest(registry)
        return generate_latest(self.registry)


def histogram_summary(exposition: str, name: str) -> dict[str, float] | None:
    """Count, mean and an upper-bound 95th percentile (the first bucket holding 95% of the
    observations) of histogram ``name`` in a text exposition (pure); None when absent or empty."""
    from prometheus_client.parser import text_string_to_metric_families

    buckets: list[tuple[float, float]] = []
    count = total = 0.0
    for family in text_string_to_metric_families(exposition):
        if family.name != name:
            continue
        for sample in family.samples:
            if sample.name == f"{name}_bucket":
                buckets.append((float(sample.labels["le"]), sample.value))
            elif sample.name == f"{name}_count":
                count += sample.value
            elif sample.name == f"{name}_sum":
                total += sample.value
    if not count:
        return None
    merged: dict[float, float] = {}
    for bound, value in buckets:
        merged[bound] = merged.get(bound, 0.0) + value
    p95 = next((bound for bound, value in sorted(merged.items()) if value >= 0.95 * count), float("inf"))
    return {"count": count, "mean_seconds": total / count, "p95_seconds_at_most": p95}


def _gauge(name: str, documentation: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=labels)


def backlog_metrics(status: Status) -> list[Metric]:
    """The gauges of one status reading (pure)."""
    open_cases = _gauge("safeguard_cases_open", "Cases not yet closed, by kind", ["kind"])
    by_age = _gauge("safeguard_cases_open_by_age", "Open cases by kind and time waited", ["kind", "age"])
    oldest = _gauge("safeguard_cases_oldest_open_seconds", "How long the oldest open case waited", ["kind"])
    for kind in status.cases:
        open_cases.add_metric([kind.kind], kind.open)
        oldest.add_metric([kind.kind], kind.oldest_seconds)
        for band, count in kind.by_age.items():
            by_age.add_metric([kind.kind, band], count)
    reviewers = _gauge(
        "safeguard_reviewer_decisions",
        f"Case decisions per reviewer in the last {status.decisions_window_hours:g} hours",
        ["reviewer"],
    )
    for reviewer, count in status.decisions_by_reviewer.items():
        reviewers.add_metric([reviewer], count)
    webhooks = _gauge("safeguard_webhook_deliveries", "Escalation webhook deliveries by state", ["state"])
    hooks = status.webhooks
    for state in ("pending", "retrying", "failed", "delivered"):
        webhooks.add_metric([state], getattr(hooks, state))
    hook_age = _gauge("safeguard_webhook_oldest_pending_seconds", "Age of the oldest undelivered webhook")
    hook_age.add_metric([], hooks.oldest_pending_seconds)
    metrics: list[Metric] = [open_cases, by_age, oldest, reviewers, webhooks, hook_age]
    if status.stream is not None:
        metrics.extend(_stream_metrics(status))
    return metrics


def _stream_metrics(status: Status) -> Iterator[Metric]:
    stream = status.stream
    assert stream is not None
    up = _gauge("safeguard_stream_up", "1 when the event stream's Redis could be read")
    up.add_metric([], 0 if stream.error else 1)
    yield up
    if stream.error:
        return
    backlog = _gauge("safeguard_stream_backlog", "Entries not yet decided, by partition", ["partition"])
    pending = _gauge("safeguard_stream_pending", "Entries read, not yet acknowledged", ["partition"])
    lag = _gauge("safeguard_stream_lag", "Entries no worker has read yet, by partition", ["partition"])
    age = _gauge("safeguard_stream_oldest_seconds", "Age of the oldest undecided entry", ["partition"])
    for part in stream.partitions:
        label = [str(part.partition)]
        backlog.add_metric(label, part.backlog)
        pending.add_metric(label, part.pending)
        if part.lag is not None:
            lag.add_metric(label, part.lag)
        age.add_metric(label, part.oldest_seconds)
    dead = _gauge("safeguard_stream_dead_letters", "Events given up on (the dead-letter stream's length)")
    dead.add_metric([], stream.dead_letters)
    workers = _gauge("safeguard_stream_workers", "Workers with a live heartbeat")
    workers.add_metric([], stream.live_workers)
    yield from (backlog, pending, lag, age, dead, workers)


class BacklogCollector(Collector):
    """Backlog gauges read at scrape time (cached by the reader); a failed read is logged and
    reported as ``safeguard_backlog_up 0`` rather than failing the scrape."""

    def __init__(self, reader: StatusReader) -> None:
        self.reader = reader

    def describe(self) -> list[Metric]:
        return []  # read nothing at registration

    def collect(self) -> Iterator[Metric]:
        up = _gauge("safeguard_backlog_up", "1 when the backlog gauges could be read from the store")
        try:
            status = self.reader.read()
        except Exception as exc:
            log.warning("backlog gauges unavailable", error=type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from backlog_metrics(status)
