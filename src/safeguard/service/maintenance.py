"""Background upkeep for a running service, off the request path: retention purges, decision
digests and signed checkpoints of the audit chain, and cases for escalations stored without one
(the write path opens cases itself; this takes up those a writer without the hook left)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime

import structlog
from sqlalchemy.orm import Session, sessionmaker

from safeguard.cases.escalations import sync_from_escalations
from safeguard.config import Settings
from safeguard.errors import SafeguardError
from safeguard.policy.retention import purge_expired
from safeguard.service import upkeep

log = structlog.get_logger("safeguard.maintenance")
CASES_INTERVAL_SECONDS = 60.0  # how often escalations left without a case are taken up


def _purge_expired(session: Session, settings: Settings, now: datetime) -> dict:
    return purge_expired(session, settings, now=now)


class Maintenance:
    """Runs the retention purge every ``retention.purge_interval_seconds`` and, unless
    ``audit.checkpoints`` is off, seals the chain every ``audit.checkpoint_interval_seconds``."""

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
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="maintenance", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the upkeep thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def run_once(self, now: datetime | None = None) -> dict:
        """Purge rows expired at ``now`` (default: now); the decisions removed are recorded in the
        chain. Returns counts per table."""
        outcome = upkeep.purge_decisions(
            self.session_factory, self.settings, _purge_expired, writer=self.writer, now=now
        )
        if outcome.skipped:
            log.info("retention_purge_skipped", reason="another process purged meanwhile")
        if outcome.changed_ranges:
            log.error(
                "decisions_changed_before_purge", ranges=[c["digest_seq"] for c in outcome.changed_ranges]
            )
        log.info("retention_purge", record_seq=outcome.record_seq, **outcome.counts)
        return outcome.counts

    def seal_once(self) -> upkeep.SealResult | None:
        """Digest the decisions due and sign a checkpoint if the head moved; None if refused."""
        try:
            result = upkeep.seal(self.session_factory, self.settings, writer=self.writer, only_if_moved=True)
        except SafeguardError as exc:
            log.error("audit_checkpoint_refused", problem=str(exc))
            return None
        written = result.checkpoint
        log.info(
            "audit_sealed",
            digests=len(result.digest_seqs),
            checkpoint_seq=written.checkpoint.seq if written else None,
            key_created=bool(written and written.key_created),
        )
        return result

    def open_cases(self) -> int:
        """Open cases for escalations stored without one; returns how many were taken."""
        with self.writer(), self.session_factory() as session:
            taken = sync_from_escalations(session, self.settings)
            session.commit()
        if taken:
            log.info("cases_opened_from_escalations", escalations=taken)
        return taken

    def _tasks(self) -> list[tuple[str, float, Callable[[], object]]]:
        tasks: list[tuple[str, float, Callable[[], object]]] = [
            ("retention_purge", self.settings.retention.purge_interval_seconds, self.run_once),
            ("open_cases", CASES_INTERVAL_SECONDS, self.open_cases),
        ]
        if self.settings.audit.checkpoints:
            tasks.append(("audit_seal", self.settings.audit.checkpoint_interval_seconds, self.seal_once))
        return tasks

    def _run(self) -> None:
        tasks = self._tasks()
        due = {name: time.monotonic() + interval for name, interval, _ in tasks}
        while not self._stop.wait(max(0.0, min(due.values()) - time.monotonic())):
            for name, interval, task in tasks:
                if due[name] > time.monotonic():
                    continue
                try:
                    task()
                except Exception as exc:  # keep upkeep alive; the failure is logged
                    log.error(f"{name}_failed", error=type(exc).__name__)
                due[name] = time.monotonic() + interval
