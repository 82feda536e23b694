"""Deciding stream events with the same services as the API: one way to decide each thing.

Messages go through ``MessageEngine.process_many`` (idempotent on
``(conversation_id, message_id)``, durable before it returns). Media events go through
:func:`safeguard.policy.media.decide_media` (as ``POST /v1/media`` does) with a
write transaction that first claims the event id, so a redelivered media event
has no second effect.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from time import perf_counter

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safeguard.config import Settings
from safeguard.policy.events import Detector, MessageEvent, Outcome
from safeguard.policy.media import decide_media
from safeguard.service.container import Services, build_services
from safeguard.stream.events import MediaEventIn
from safeguard.stream.models import StreamMediaDecisionRow

UNRECORDED = {"action": None, "detail": "decided; the decision body was not recorded"}


class Decider:
    """Decides message and media events on a service container."""

    def __init__(self, services: Services) -> None:
        self.services = services

    @classmethod
    def from_settings(
        cls, settings: Settings, *, detector: Detector | None = None, database_url: str | None = None
    ) -> Decider:
        """The same wiring as ``safeguard serve`` (``safeguard.service.container.build_services``)."""
        return cls(build_services(settings, detector=detector, database_url=database_url))

    def messages(self, events: list[MessageEvent]) -> list[Outcome]:
        """Decide ``events`` in order in one transaction; stored decisions are replayed.

        Each event's decision latency (``door="stream"``) is the batch's: its decision is
        stored when the batch commits.
        """
        started = perf_counter()
        outcomes = self.services.engine.process_many(events)
        elapsed = perf_counter() - started
        histogram = self.services.metrics.decision_seconds.labels("stream")
        for _ in events:
            histogram.observe(elapsed)
        return outcomes

    @contextmanager
    def _claiming(self, event_id: str) -> Iterator[Session]:
        """The services' write transaction, which claims ``event_id`` first."""
        with self.services.write() as session:
            session.add(StreamMediaDecisionRow(event_id=event_id))
            session.flush()  # IntegrityError here: another delivery decided it first
            yield session

    def media(self, event: MediaEventIn) -> Outcome:
        """Decide one media event exactly once (replays answer from the store)."""
        stored = self._stored_media(event.event_id)
        if stored is not None:
            return stored
        services = self.services
        try:
            body = decide_media(
                event,
                None,
                write=functools.partial(self._claiming, event.event_id),
                settings=services.settings,
                on_escalation=services.engine.on_escalation,
                metrics=services.metrics,
                update_conversation=services.engine.update_conversation,
            )
        except IntegrityError:
            stored = self._stored_media(event.event_id)
            if stored is None:
                raise
            return stored
        with services.write() as session:
            row = session.get(StreamMediaDecisionRow, event.event_id)
            if row is not None:
                row.decision = body
        return Outcome(body, created=True, escalation_ids=[body["case_id"]] if body.get("case_id") else [])

    def _stored_media(self, event_id: str) -> Outcome | None:
        with self.services.read() as session:
            row = session.get(StreamMediaDecisionRow, event_id)
            if row is None:
                return None
            return Outcome(row.decision or dict(UNRECORDED), created=False)

    def close(self) -> None:
        """Stop the engine's writer thread and background helpers."""
        self.services.webhooks.close()
        self.services.engine.close()
