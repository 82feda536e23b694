"""POST /v1/messages: child-safety defaults, hold/escalate, idempotency, state, durability."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from api_support import Service
from sqlalchemy import create_engine, func, select, text

from safeguard.policy import texts
from safeguard.policy.engine import MessageEvent
from safeguard.policy.models import ConversationRow, EscalationRow, MessageDecisionRow
from safeguard.service.webhooks import WebhookDelivery
from safeguard.store.db import session_scope


def test_unconnected_adult_needs_the_childs_confirmation(service: Service) -> None:
    decision = service.message("adult-1", ["child-1"], "hello", message_id="m1")
    assert decision["action"] == "require_confirmation"
    assert decision["warn_recipient"] == texts.UNKNOWN_SENDER
    assert [r["code"] for r in decision["reasons"]] == ["unconnected_contact"]
    assert decision["recipient_actions"] == {"child-1": "require_confirmation"}
    assert decision["case_id"] is None


def test_child_reply_or_confirmation_lifts_the_requirement(service: Service) -> None:
    assert service.message("adult-1", ["child-1"], "hi", message_id="m1")["action"] == (
        "require_confirmation"
    )
    service.message("child-1", ["adult-1"], "hi back", message_id="m2")
    assert service.message("adult-1", ["child-1"], "ok", message_id="m3")["action"] == "allow"
    response = service.client.put("/v1/contact-confirmations/child-2/adult-1", headers=service.auth())
    assert response.status_code == 200
    assert (
        service.message("adult-1", ["child-2"], "hi", message_id="m4", conversation_id="c2")["action"]
        == "allow"
    )


def test_connected_adult_is_allowed_and_adults_are_unaffected(service: Service) -> None:
    assert service.message("adult-2", ["child-1"], "dinner at 6", message_id="m1")["action"] == ("allow")
    assert (
        service.message("adult-1", ["adult-2"], "ESCALATE", message_id="m2", conversation_id="c2")["action"]
        == "allow"
    )


def test_risk_holds_then_escalates_and_opens_a_case(service: Service) -> None:
    held = service.message("adult-2", ["child-1"], "meet me, our secret, send a pic", message_id="m1")
    assert held["action"] == "hold"
    assert held["conversation_risk"] >= 0.6
    assert "grooming_risk_hold" in [r["code"] for r in held["reasons"]]
    escalated = service.message("adult-2", ["child-1"], "ESCALATE", message_id="m2")
    assert escalated["action"] == "escalate"
    assert escalated["case_id"]
    with session_scope(service.url) as session:
        case = session.get(EscalationRow, escalated["case_id"])
        assert case.kind == "message" and case.status == "open"
        assert case.subject_account_id == "adult-2" and case.recipient_ids == ["child-1"]
        assert case.message_id == "m2" and case.conversation_id == "conv-1"
        assert {s["category"] for s in case.evidence["signals"]} >= {"meeting", "coercion"}
        assert "grooming_risk_escalate" in [r["code"] for r in case.reasons]
        stored = session.get(MessageDecisionRow, ("conv-1", "m2"))
        assert stored.case_id == escalated["case_id"]


def test_escalation_queues_a_webhook_delivery(make_service) -> None:  # type: ignore[no-untyped-def]
    svc = make_service(webhooks={"targets": [{"url": "http://127.0.0.1:9/hook", "secret": "s3cret-value"}]})
    svc.put_account("kid", "child")
    svc.put_account("grown", "adult")
    decision = svc.message("grown", ["kid"], "ESCALATE", message_id="m1")
    with session_scope(svc.url) as session:
        deliveries = session.execute(select(WebhookDelivery)).scalars().all()
        assert len(deliveries) == 1
        assert deliveries[0].status == "pending"
        assert decision["case_id"] in deliveries[0].payload
        assert "ESCALATE" not in deliveries[0].payload


def test_repeat_message_id_returns_the_first_decision(service: Service) -> None:
    first = service.client.post(
        "/v1/messages",
        json={
            "conversation_id": "c",
            "message_id": "dup",
            "sender_id": "adult-1",
            "text": "hello",
            "recipient_ids": ["child-1"],
        },
        headers=service.auth(),
    )
    again = service.client.post(
        "/v1/messages",
        json={
            "conversation_id": "c",
            "message_id": "dup",
            "sender_id": "adult-1",
            "text": "hello",
            "recipient_ids": ["child-1"],
        },
        headers=service.auth(),
    )
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replay"] == "true"
    assert "idempotent-replay" not in first.headers
    # The same key with other text is another request, not a retry (tests/security).
    other = service.client.post(
        "/v1/messages",
        json={
            "conversation_id": "c",
            "message_id": "dup",
            "sender_id": "adult-1",
            "text": "ESCALATE",
            "recipient_ids": ["child-1"],
        },
        headers=service.auth(),
    )
    assert other.status_code == 409 and other.json()["field"] == "text"
    with session_scope(service.url) as session:
        count = session.execute(select(func.count()).select_from(MessageDecisionRow)).scalar()
        conversation = session.get(ConversationRow, "c")
        assert count == 1 and conversation.message_count == 1


def test_conversation_state_survives_a_restart(make_service, service: Service) -> None:  # type: ignore[no-untyped-def]
    service.message("adult-2", ["child-1"], "our secret", message_id="m1")
    restarted = make_service()
    decision = restarted.message("adult-2", ["child-1"], "meet", message_id="m2")
    assert decision["conversation_risk"] > decision["risk"]
    with session_scope(service.url) as session:
        assert session.get(ConversationRow, "conv-1").message_count == 2


def _in_threads(send: Callable[[int, int], object], workers: int = 6, each: int = 15) -> list[BaseException]:
    """Call ``send(worker, i)`` ``each`` times from each of ``workers`` threads; the errors raised."""
    errors: list[BaseException] = []

    def run(worker: int) -> None:
        try:
            for i in range(each):
                send(worker, i)
        except BaseException as exc:  # surfaced to the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_concurrent_messages_of_one_conversation_lose_no_update(service: Service) -> None:
    engine = service.client.app.state.services.engine
    errors = _in_threads(
        lambda worker, i: engine.process(
            MessageEvent("shared", f"w{worker}-{i}", "adult-2", "hi", ("child-1",))
        )
    )
    assert errors == []
    with session_scope(service.url) as session:
        assert session.get(ConversationRow, "shared").message_count == 90
        assert session.get(ConversationRow, "shared").state["count"] == 90


def test_fan_out_to_many_children_raises_account_risk_and_holds(service: Service) -> None:
    for i in range(5):
        service.put_account(f"kid-{i}", "child")
        decision = service.message(
            "adult-1", [f"kid-{i}"], "hey", message_id=f"m{i}", conversation_id=f"c{i}"
        )
    assert decision["action"] == "hold"
    assert [r["code"] for r in decision["reasons"]][:3] == [
        "account_risk_hold",
        "unconnected_contact",
        "fan_out_to_minors",
    ]
    risk = service.client.get("/v1/accounts/adult-1/risk", headers=service.auth("review"))
    assert risk.status_code == 200
    assert [r["code"] for r in risk.json()["reasons"]] == ["fan_out_to_minors"]
    assert risk.json()["risk"] >= 0.6


def test_repeated_platform_move_is_an_account_reason(service: Service) -> None:
    service.message("adult-1", ["adult-2"], "add me on snap", message_id="m1", conversation_id="a")
    service.message("adult-1", ["teen-1"], "snap?", message_id="m2", conversation_id="b")
    risk = service.client.get("/v1/accounts/adult-1/risk", headers=service.auth("review")).json()
    assert [r["code"] for r in risk["reasons"]] == ["repeated_platform_move"]


def test_sender_age_band_is_used_for_unknown_senders(service: Service) -> None:
    response = service.client.post(
        "/v1/messages",
        json={
            "conversation_id": "c",
            "message_id": "m",
            "sender_id": "new-kid",
            "sender_age_band": "child",
            "text": "hi",
            "recipient_ids": ["adult-1"],
        },
        headers=service.auth(),
    )
    assert response.json()["action"] == "allow"
    assert (
        service.message("adult-1", ["new-kid"], "hello", message_id="m2", conversation_id="c")["action"]
        == "allow"
    )


def test_default_detector_is_wired_in(make_service) -> None:  # type: ignore[no-untyped-def]
    from safeguard.text import load_detector

    svc = make_service(detector=load_detector(embeddings=False))
    svc.put_account("kid", "child")
    svc.put_account("grown", "adult")
    svc.connect("kid", "grown")
    decision = svc.message("grown", ["kid"], "add me on snap, don't tell your mum", message_id="m1")
    assert decision["risk"] > 0
    assert decision["action"] in {"warn_recipient", "hold", "escalate"}
    assert any(
        "platform_move" in r["detail"]
        or r["code"].startswith("grooming")
        or r["code"] == "conversation_risk_warn"
        for r in decision["reasons"]
    )


def test_concurrent_requests_of_one_conversation_lose_no_update(make_service) -> None:  # type: ignore[no-untyped-def]
    """Through HTTP: on PostgreSQL the batches run on the event loop, several at once."""
    service = make_service(api={"sender_limits": ""})  # one sender, 90 messages at once
    service.put_account("adult-2", "adult")
    service.put_account("child-1", "child")
    errors = _in_threads(
        lambda worker, i: service.message(
            "adult-2", ["child-1"], "hi", message_id=f"h{worker}-{i}", conversation_id="busy"
        )
    )
    assert errors == []
    engine = service.client.app.state.services.engine
    assert engine.runs_on_loop == service.url.startswith("postgresql")
    with session_scope(service.url) as session:
        conversation = session.get(ConversationRow, "busy")
        assert conversation.message_count == 90 and conversation.state["count"] == 90
        assert session.execute(select(func.count()).select_from(MessageDecisionRow)).scalar() == 90


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_lost_database_connection_is_retried_not_failed(service: Service) -> None:
    """A database restart drops pooled connections: the next batch finds out, and runs again."""
    service.message("adult-2", ["child-1"], "hi", message_id="before")
    admin = create_engine(service.url)
    try:
        with admin.connect() as connection:
            ended = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar()
    finally:
        admin.dispose()
    assert ended >= 1
    decision = service.message("adult-2", ["child-1"], "hi again", message_id="after")
    assert decision["action"] == "allow"
    with session_scope(service.url) as session:
        assert session.get(ConversationRow, "conv-1").message_count == 2
        assert session.get(MessageDecisionRow, ("conv-1", "after")) is not None
