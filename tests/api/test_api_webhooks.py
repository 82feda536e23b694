"""Escalation webhooks: HMAC-signed POSTs to a loopback receiver, back-off, stored state."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from api_support import Service
from sqlalchemy import select, update

from safeguard.core.clock import utcnow
from safeguard.service.webhooks import SIGNATURE_HEADER, WebhookDelivery, sign, verify
from safeguard.store.db import session_scope

SECRET = "webhook-secret-1"


class Receiver:
    """A loopback HTTP server answering with queued status codes."""

    def __init__(self) -> None:
        self.codes: list[int] = []
        self.received: list[tuple[dict, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append((dict(self.headers), body))
                self.send_response(outer.codes.pop(0) if outer.codes else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def test_signature_round_trip() -> None:
    header = sign(SECRET, 1_700_000_000, b"{}")
    assert header.startswith("t=1700000000,v1=")
    assert not verify(SECRET, header, b"{}")  # too old
    import time

    fresh = sign(SECRET, int(time.time()), b'{"a":1}')
    assert verify(SECRET, fresh, b'{"a":1}')
    assert not verify(SECRET, fresh, b'{"a":2}')
    assert not verify("other-secret", fresh, b'{"a":1}')
    assert not verify(SECRET, "garbage", b"{}")


def test_escalation_is_delivered_signed_after_a_retry(make_service, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    svc: Service = make_service(
        webhooks={
            "targets": [{"url": receiver.url, "secret": SECRET}],
            "backoff_seconds": 60,
            "poll_seconds": 3600,
        }
    )
    svc.put_account("kid", "child")
    svc.put_account("grown", "adult")
    decision = svc.message("grown", ["kid"], "ESCALATE please", message_id="m1")
    assert decision["action"] == "escalate"
    worker = svc.client.app.state.services.webhooks
    worker.stop()  # drive deliveries by hand: no timing in this test

    receiver.codes = [500]
    assert worker.deliver_due() == 1
    with session_scope(svc.url) as session:
        delivery = session.execute(select(WebhookDelivery)).scalar_one()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
        assert delivery.last_error == "HTTP 500"
        assert delivery.next_attempt_at.replace(tzinfo=None) > utcnow().replace(tzinfo=None)
    assert worker.deliver_due() == 0  # backing off

    with session_scope(svc.url) as session:
        session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow()))
    assert worker.deliver_due() == 1
    with session_scope(svc.url) as session:
        delivery = session.execute(select(WebhookDelivery)).scalar_one()
        assert (delivery.status, delivery.attempts) == ("delivered", 2)

    headers, body = receiver.received[-1]
    assert verify(SECRET, headers[SIGNATURE_HEADER], body)
    payload = json.loads(body)
    assert payload["type"] == "escalation" and payload["case_id"] == decision["case_id"]
    assert payload["subject_account_id"] == "grown"
    assert "ESCALATE please" not in body.decode()


def test_delivery_gives_up_after_max_attempts(make_service, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    svc: Service = make_service(
        webhooks={
            "targets": [{"url": receiver.url, "secret": SECRET}],
            "max_attempts": 2,
            "poll_seconds": 3600,
        }
    )
    svc.put_account("kid", "child")
    svc.put_account("grown", "adult")
    svc.message("grown", ["kid"], "ESCALATE", message_id="m1")
    worker = svc.client.app.state.services.webhooks
    worker.stop()
    receiver.codes = [503, 503]
    for _ in range(2):
        with session_scope(svc.url) as session:
            session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow()))
        worker.deliver_due()
    with session_scope(svc.url) as session:
        delivery = session.execute(select(WebhookDelivery)).scalar_one()
        assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 2, "HTTP 503")
