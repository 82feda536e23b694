"""Detector latency: the detector as the engine sees it, with each message's scoring timed.

The engine only calls ``new_conversation``/``restore_conversation`` and then the state's
``add_message``, ``risk``, ``signals``, ``to_dict`` (and optional methods); the wrapper
times ``add_message`` into a histogram and hands everything else to the real state.
Cost per message: two ``perf_counter`` calls and one histogram update.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any

from prometheus_client import Histogram

from safeguard.policy.events import Detector


class TimedState:
    """A conversation state whose ``add_message`` is timed; every other name is the state's."""

    __slots__ = ("_histogram", "_state")

    def __init__(self, state: Any, histogram: Histogram) -> None:
        self._state = state
        self._histogram = histogram

    def add_message(self, *args: Any, **kwargs: Any) -> Any:
        """Score one message; only a call that returns is timed (a refused call, such as a
        state that takes no ``recipient_age_bands`` and is asked again without, is not)."""
        started = perf_counter()
        result = self._state.add_message(*args, **kwargs)
        self._histogram.observe(perf_counter() - started)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._state, name)


class TimedDetector:
    """``detector`` whose conversation states time their messages into ``histogram``."""

    def __init__(self, detector: Detector, histogram: Histogram) -> None:
        self.detector = detector
        self.histogram = histogram

    def new_conversation(self, conversation_id: str) -> TimedState:
        return TimedState(self.detector.new_conversation(conversation_id), self.histogram)

    def restore_conversation(self, data: dict) -> TimedState:
        return TimedState(self.detector.restore_conversation(data), self.histogram)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.detector, name)
