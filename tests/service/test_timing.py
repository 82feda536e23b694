"""The timed detector: one observation per scored message, everything else passed through."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram

from safeguard.service.timing import TimedDetector


class OldState:
    """A state that takes no recipient bands (the engine then calls again without them)."""

    risk = 0.25

    def add_message(self, message: str) -> str:
        return f"scored {message}"


class OldDetector:
    name = "old"

    def new_conversation(self, conversation_id: str) -> OldState:
        return OldState()

    def restore_conversation(self, data: dict) -> OldState:
        return OldState()


def _count(registry: CollectorRegistry) -> float:
    return registry.get_sample_value("test_detector_seconds_count") or 0.0


def test_each_scored_message_is_observed_once() -> None:
    registry = CollectorRegistry()
    timed = TimedDetector(OldDetector(), Histogram("test_detector_seconds", "t", registry=registry))  # type: ignore[arg-type]
    state = timed.new_conversation("c1")
    try:
        state.add_message("hi", recipient_age_bands=["child"])
    except TypeError:
        assert state.add_message("hi") == "scored hi"
    assert _count(registry) == 1
    assert timed.restore_conversation({}).add_message("x") == "scored x"
    assert _count(registry) == 2
    assert state.risk == 0.25
    assert timed.name == "old"


def test_histogram_summary_from_an_exposition() -> None:
    from prometheus_client import generate_latest

    from safeguard.service.metrics import histogram_summary

    registry = CollectorRegistry()
    histogram = Histogram("test_detector_seconds", "t", buckets=(0.001, 0.01, 0.1), registry=registry)
    for value in [0.0005] * 19 + [0.05]:
        histogram.observe(value)
    text = generate_latest(registry).decode()
    summary = histogram_summary(text, "test_detector_seconds")
    assert summary is not None
    assert summary["count"] == 20
    assert summary["p95_seconds_at_most"] == 0.001
    assert abs(summary["mean_seconds"] - (19 * 0.0005 + 0.05) / 20) < 1e-9
    assert histogram_summary(text, "absent_seconds") is None
