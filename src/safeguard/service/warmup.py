"""Models loaded at start-up, off the event loop, and the readiness they report.

The first message that reached the embedding stage used to load the sentence
model on the event loop (12-18 s during which nothing was answered). The
service now loads the text detector's models and the nudity model in a thread
as it starts; ``/healthz`` answers meanwhile, ``/readyz`` says what is still
loading, and a message that arrives first waits (without holding the loop) until
the models are in.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import Future
from typing import Any

import structlog

log = structlog.get_logger("safeguard.api")


class Warmup:
    """Loads each named model once, in one background thread, and records how it went."""

    def __init__(self, detector: Any, *, nudity: bool = True) -> None:
        self._steps: dict[str, Any] = {}
        if callable(getattr(detector, "warm", None)):
            self._steps["text_detector"] = detector.warm
        if nudity:
            from safeguard.media import nudity as nudity_model

            self._steps["nudity_model"] = nudity_model.warm
        self.status: dict[str, str] = dict.fromkeys(self._steps, "pending")
        self._done: Future[None] = Future()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Begin loading (once); returns at once."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="model-warmup", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        for name, step in self._steps.items():
            self.status[name] = "loading"
            started = time.perf_counter()
            try:
                loaded = step()
            except Exception as exc:  # reported by /readyz; the model loads lazily later
                self.status[name] = f"failed: {type(exc).__name__}"
                log.warning("model warm-up failed", model=name, error=type(exc).__name__)
                continue
            self.status[name] = "unavailable" if loaded is False else "loaded"
            log.info("model loaded", model=name, seconds=round(time.perf_counter() - started, 2))
        self._done.set_result(None)

    @property
    def ready(self) -> bool:
        """True once every model has been loaded (or found unavailable)."""
        return self._done.done()

    @property
    def failed(self) -> bool:
        """True when a model failed to load."""
        return any(value.startswith("failed") for value in self.status.values())

    async def wait(self) -> None:
        """Wait, without blocking the event loop, until loading has finished."""
        if not self._done.done():
            self.start()
            await asyncio.wrap_future(self._done)
