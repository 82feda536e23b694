"""Prometheus metrics, one registry per app (several apps may live in one test process)."""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess


class Metrics:
    """Request counts and latencies, decisions by action, escalations, webhook deliveries."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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

    def render(self) -> bytes:
        """The text exposition format (summed over the server's processes when there are several)."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)
