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
