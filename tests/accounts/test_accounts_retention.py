"""Retention limits delete old decisions, contact events, states and closed escalations."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from safeguard.accounts.models import ContactEvent
from safeguard.config import Settings
from safeguard.core.clock import utcnow
from safeguard.policy.models import ConversationRow, EscalationRow, MessageDecisionRow
from safeguard.policy.retention import purge_expired
from safeguard.store.db import session_scope


def test_purge_keeps_recent_rows_and_open_escalations(db_url: str) -> None:
    settings = Settings(retention={"decisions_days": 10, "escalations_days": 30})
    now = utcnow()
    old, recent = now - timedelta(days=400), now - timedelta(days=1)
    with session_scope(db_url) as session:
        for name, at in (("old", old), ("new", recent)):
            session.add(
                MessageDecisionRow(
                    message_id=name,
                    conversation_id="c",
                    sender_id="s",
                    action="allow",
                    risk=0.0,
                    conversation_risk=0.0,
                    decision={},
                    created_at=at,
                )
            )
            session.add(ContactEvent(sender_id="s", recipient_id=name, at=at))
            session.add(ConversationRow(id=name, state=None, risk=0.0, message_count=1, updated_at=at))
        for name, status in (("closed", "closed"), ("open", "open")):
            session.add(
                EscalationRow(
                    id=name,
                    kind="message",
                    subject_account_id="s",
                    recipient_ids=[],
                    risk=1.0,
                    priority=1,
                    reasons=[],
                    evidence={},
                    status=status,
                    created_at=old,
                )
            )
    with session_scope(db_url) as session:
        counts = purge_expired(session, settings, now=now)
    assert counts == {
        "message_decisions": 1,
        "contact_events": 1,
        "conversations": 1,
        "conversation_context": 0,
        "escalations": 1,
        "script_fingerprints": 0,
    }
    with session_scope(db_url) as session:
        assert session.get(MessageDecisionRow, ("c", "new"))
        assert not session.get(MessageDecisionRow, ("c", "old"))
        assert session.execute(select(func.count()).select_from(ContactEvent)).scalar() == 1
        assert session.get(EscalationRow, "open") is not None
        assert session.get(EscalationRow, "closed") is None
