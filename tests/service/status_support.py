"""Rows an operator reading counts: cases of given ages, reviewer decisions, webhook deliveries."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from safeguard.cases.models import CaseRow
from safeguard.evidence.chain import append
from safeguard.service.webhooks import WebhookDelivery

NOW = datetime(2026, 1, 10, 12, 0, 0).astimezone()


def add_case(session: Session, case_id: str, kind: str, age: timedelta, status: str = "open") -> None:
    session.add(
        CaseRow(
            id=case_id,
            kind=kind,
            source="test",
            status=status,
            subject_account_id="adult-1",
            created_at=NOW - age,
        )
    )


def add_decision(session: Session, reviewer: str, age: timedelta) -> None:
    append(
        session,
        kind="evidence",
        action="decision",
        actor=reviewer,
        payload={"outcome": "no_action"},
        at=NOW - age,
    )


def add_delivery(session: Session, status: str, attempts: int, age: timedelta) -> None:
    session.add(
        WebhookDelivery(
            target_url="http://127.0.0.1:9/hook",
            event_type="escalation",
            payload="{}",
            status=status,
            attempts=attempts,
            created_at=NOW - age,
        )
    )


def seed(session: Session) -> None:
    """Three open grooming cases (30 min, 5 h, 3 days old), a closed one, one open report;
    alice decided twice and bob once today, carol two days ago; webhooks: one pending, one
    retrying (2 h old), one failed, one delivered."""
    add_case(session, "c1", "grooming", timedelta(minutes=30))
    add_case(session, "c2", "grooming", timedelta(hours=5))
    add_case(session, "c3", "grooming", timedelta(days=3))
    add_case(session, "c4", "grooming", timedelta(days=9), status="closed")
    add_case(session, "r1", "report", timedelta(minutes=5))
    for reviewer, age in (("alice", 1), ("alice", 2), ("bob", 3), ("carol", 48)):
        add_decision(session, reviewer, timedelta(hours=age))
    add_delivery(session, "pending", 0, timedelta(minutes=10))
    add_delivery(session, "pending", 2, timedelta(hours=2))
    add_delivery(session, "failed", 8, timedelta(days=1))
    add_delivery(session, "delivered", 1, timedelta(days=1))
