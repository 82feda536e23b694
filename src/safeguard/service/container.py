"""The service container: everything a door needs, built once per process (``build_services``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from safeguard.accounts.keys import KeyInfo, hash_key, verify_key
from safeguard.cases.escalations import open_for_escalation
from safeguard.config import Settings
from safeguard.policy.engine import MessageEngine
from safeguard.policy.events import Detector
from safeguard.policy.message_flow import EscalationHook
from safeguard.policy.models import EscalationRow
from safeguard.service.maintenance import Maintenance
from safeguard.service.metrics import Metrics
from safeguard.service.ratelimit import RateLimiter, build_limiter
from safeguard.service.status import StatusReader
from safeguard.service.timing import TimedDetector
from safeguard.service.warmup import Warmup
from safeguard.service.webhooks import WebhookWorker, enqueue, escalation_payload
from safeguard.store.db import get_sessionmaker

MISS = object()  # KeyCache.cached: not in the cache


class KeyCache:
    """Verified keys by hash for ``ttl`` seconds, so auth costs no query per request.

    A revoked key stops working within ``ttl`` seconds in a running server.
    """

    def __init__(self, session_factory: sessionmaker[Session], ttl: float = 5.0) -> None:
        self.session_factory = session_factory
        self.ttl = ttl
        self._cache: dict[str, tuple[KeyInfo | None, float]] = {}
        self._lock = threading.Lock()

    def cached(self, secret: str) -> KeyInfo | object | None:
        """The cached answer for ``secret``, or ``MISS`` when a lookup is needed."""
        hit = self._cache.get(hash_key(secret))
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        return MISS

    def lookup(self, secret: str) -> KeyInfo | None:
        """The key's info, or None when unknown or revoked."""
        digest = hash_key(secret)
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        with self.session_factory() as session:
            info = verify_key(session, secret)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (info, now + self.ttl)
        return info


@dataclass
class Services:
    """Everything a door needs (a request handler, a stream worker, a CLI command)."""

    settings: Settings
    session_factory: sessionmaker[Session]
    engine: MessageEngine
    keys: KeyCache
    limiter: RateLimiter
    metrics: Metrics
    webhooks: WebhookWorker
    maintenance: Maintenance
    warmup: Warmup
    status: StatusReader

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction, committed before the response is sent."""
        with self.engine.writer():
            session = self.session_factory()
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session."""
        session = self.session_factory()
        try:
            yield session
        finally:
            session.rollback()
            session.close()


def default_detector(settings: Settings) -> Detector:
    """The text package's default (or configured) grooming detector."""
    from safeguard.text import load_detector

    return load_detector(
        settings.detector_model_path,
        settings.detector_threshold,
        embeddings=settings.detector_embeddings,
    )


def escalation_hook(settings: Settings) -> EscalationHook:
    """What runs with every escalation stored, in its transaction (the write path): its case
    is opened (or the open case it joins extended), and its webhook deliveries are queued."""

    def hook(session: Session, escalation: EscalationRow) -> None:
        open_for_escalation(session, settings, escalation)
        enqueue(session, settings.webhooks, "escalation", escalation_payload(escalation))

    return hook


def build_services(
    settings: Settings, *, detector: Detector | None = None, database_url: str | None = None
) -> Services:
    """Wire store, detector, engine and helpers for one app (or one worker).

    The engine's detector is timed per message (``safeguard_detector_seconds``); the
    backlog gauges read ``status`` (its ``stream`` probe is set by the composition root).
    """
    factory = get_sessionmaker(database_url or settings.resolved_database_url())
    detector = detector if detector is not None else default_detector(settings)
    metrics = Metrics()
    timed = TimedDetector(detector, metrics.detector_seconds)
    engine = MessageEngine(factory, timed, settings, on_escalation=escalation_hook(settings))
    status = StatusReader(factory, settings)
    metrics.watch_backlog(status)
    return Services(
        settings=settings,
        session_factory=factory,
        engine=engine,
        keys=KeyCache(factory),
        limiter=build_limiter(
            settings.api.rate_per_second,
            settings.api.burst,
            settings.api.sender_limits,
            settings.api.rate_limit_storage,
        ),
        metrics=metrics,
        webhooks=WebhookWorker(factory, settings, writer=engine.writer),
        maintenance=Maintenance(factory, settings, engine.writer),
        warmup=Warmup(detector),
        status=status,
    )
