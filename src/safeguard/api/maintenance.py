"""Background upkeep for a running service: retention purges, off the request path."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager

import structlog
from sqlalchemy.orm import Session, sessionmaker

from safeguard.config import Settings
from safeguard.policy.retention import purge_expired

log = structlog.get_logger("safeguard.maintenance")


class Maintenance:
    """Runs ``purge_expired`` every ``retention.purge_interval_seconds``."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        settings: Settings,
        writer: Callable[[], AbstractContextManager[None]],
    ) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.writer = writer
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the upkeep thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="maintenance", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the upkeep thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def run_once(self) -> dict:
        """Purge expired rows now; returns counts per table."""
        with self.writer(), self.session_factory() as session:
            counts = purge_expired(session, self.settings)
            session.commit()
        log.info("retention_purge", **counts)
        return counts

    def _run(self) -> None:
        interval = self.settings.retention.purge_interval_seconds
        while not self._stop.wait(interval):
            try:
                self.run_once()
            except Exception as exc:  # keep upkeep alive; the failure is logged
                log.error("retention_purge_failed", error=type(exc).__name__)
