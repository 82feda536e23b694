"""Escalation webhooks: signed HMAC-SHA256 POSTs, retried with back-off, state stored.

Deliveries are queued in the same transaction as the escalation (so an
accepted escalation is never lost) and sent by a background thread off the
request path. The signature header is ``X-Safeguard-Signature: t=<unix
time>,v1=<hex>`` where ``hex = HMAC-SHA256(secret, "<t>.<body>")``; receivers
recompute it and reject stale timestamps.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta

import httpx
import structlog
from sqlalchemy import DateTime, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from safeguard.config import Settings, Webhooks
from safeguard.core.clock import utcnow
from safeguard.policy.models import EscalationRow
from safeguard.store.db import Base

log = structlog.get_logger("safeguard.webhooks")
SIGNATURE_HEADER = "X-Safeguard-Signature"


class WebhookDelivery(Base):
    """One event to one target: pending, delivered or failed, with its attempts."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    target_url: Mapped[str] = mapped_column(String(1024))
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(512), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, tolerance: float = 300.0) -> bool:
    """Check a signature header (receivers can use this)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


def escalation_payload(escalation: EscalationRow) -> dict:
    """The event body: identifiers, risk and reasons; never message text or excerpts."""
    return {
        "type": "escalation",
        "case_id": escalation.id,
        "kind": escalation.kind,
        "subject_account_id": escalation.subject_account_id,
        "recipient_ids": list(escalation.recipient_ids or []),
        "conversation_id": escalation.conversation_id,
        "message_id": escalation.message_id,
        "risk": escalation.risk,
        "priority": escalation.priority,
        "reasons": [r.get("code") for r in escalation.reasons or []],
    }


def enqueue(session: Session, config: Webhooks, event_type: str, payload: dict) -> int:
    """Queue ``payload`` for every target subscribed to ``event_type``; returns the count."""
    body = json.dumps(payload, sort_keys=True)
    count = 0
    for target in config.targets:
        if event_type in target.events:
            session.add(
                WebhookDelivery(
                    target_url=target.url,
                    event_type=event_type,
                    payload=body,
                    status="pending",
                    attempts=0,
                    next_attempt_at=utcnow(),
                    created_at=utcnow(),
                )
            )
            count += 1
    return count


def escalation_hook(settings: Settings):  # type: ignore[no-untyped-def]
    """A callback for ``MessageEngine(on_escalation=...)`` that queues deliveries."""

    def hook(session: Session, escalation: EscalationRow) -> None:
        enqueue(session, settings.webhooks, "escalation", escalation_payload(escalation))

    return hook


class WebhookWorker:
    """Background sender: delivers due webhooks, backs off on failure."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        settings: Settings,
        *,
        writer: Callable[[], AbstractContextManager[None]] = nullcontext,
    ) -> None:
        self.session_factory = session_factory
        self.config = settings.webhooks
        self.writer = writer
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = httpx.Client(timeout=self.config.timeout_seconds)

    def start(self) -> None:
        """Start the sender thread (no-op without targets)."""
        if not self.config.targets or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the sender thread (``deliver_due`` still works, for tests and tools)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.config.timeout_seconds + 1)
            self._thread = None

    def close(self) -> None:
        """Stop the thread and release the HTTP client."""
        self.stop()
        self._client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self.deliver_due()
            except Exception as exc:  # keep the worker alive; the failure is logged
                log.error("webhook_worker_error", error=type(exc).__name__)
                sent = 0
            if not sent:
                self._stop.wait(self.config.poll_seconds)

    def deliver_due(self, limit: int = 50) -> int:
        """Try every due delivery once; returns how many were attempted.

        The HTTP call happens outside any transaction; only the state update
        takes the store's write lock.
        """
        secrets = {t.url: t.secret for t in self.config.targets}
        with self.session_factory() as session:
            due = session.execute(
                select(
                    WebhookDelivery.id,
                    WebhookDelivery.target_url,
                    WebhookDelivery.event_type,
                    WebhookDelivery.payload,
                )
                .where(
                    WebhookDelivery.status == "pending",
                    WebhookDelivery.next_attempt_at <= utcnow(),
                )
                .order_by(WebhookDelivery.id)
                .limit(limit)
            ).all()
        for delivery_id, url, event_type, payload in due:
            code, error = self._send(delivery_id, url, event_type, payload, secrets.get(url))
            with self.writer(), self.session_factory() as session:
                delivery = session.get(WebhookDelivery, delivery_id)
                if delivery is not None:
                    self._record(delivery, code, error, gone=url not in secrets)
                    session.commit()
        return len(due)

    def _send(
        self, delivery_id: int, url: str, event_type: str, payload: str, secret: str | None
    ) -> tuple[int | None, str | None]:
        if secret is None:
            return None, "target no longer configured"
        body = payload.encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secret, int(time.time()), body),
            "X-Safeguard-Delivery": str(delivery_id),
            "X-Safeguard-Event": event_type,
        }
        try:
            response = self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, type(exc).__name__
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"HTTP {response.status_code}"

    def _record(self, delivery: WebhookDelivery, code: int | None, error: str | None, *, gone: bool) -> None:
        delivery.attempts += 1
        delivery.last_status_code = code
        delivery.last_error = error
        if error is None:
            delivery.status = "delivered"
            delivery.delivered_at = utcnow()
        elif delivery.attempts >= self.config.max_attempts or gone:
            delivery.status = "failed"
        else:
            delay = min(
                self.config.backoff_seconds * 2 ** (delivery.attempts - 1),
                self.config.max_backoff_seconds,
            )
            delivery.next_attempt_at = utcnow() + timedelta(seconds=delay)
        log.info(
            "webhook_attempt",
            delivery_id=delivery.id,
            attempts=delivery.attempts,
            status=delivery.status,
            code=code,
            error=error,
        )
