"""Retention: delete what the service no longer needs (store the minimum).

Message decisions, contact events, conversation states and escalations each
have a limit in days (``[retention]`` in the settings). Escalations default to
one year, the REPORT Act preservation period.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from safeguard.accounts.models import ContactEvent
from safeguard.config import Settings
from safeguard.core.clock import utcnow
from safeguard.policy.models import ConversationRow, EscalationRow, MessageDecisionRow


def purge_expired(session: Session, settings: Settings, now: datetime | None = None) -> dict:
    """Delete rows older than their retention limit; returns counts per table."""
    now = now or utcnow()
    limits = settings.retention

    def before(days: int) -> datetime:
        return now - timedelta(days=days)

    counts = {
        "message_decisions": session.execute(
            delete(MessageDecisionRow).where(MessageDecisionRow.created_at < before(limits.decisions_days))
        ).rowcount,
        "contact_events": session.execute(
            delete(ContactEvent).where(ContactEvent.at < before(limits.contact_events_days))
        ).rowcount,
        "conversations": session.execute(
            delete(ConversationRow).where(ConversationRow.updated_at < before(limits.conversation_state_days))
        ).rowcount,
        "escalations": session.execute(
            delete(EscalationRow).where(
                EscalationRow.created_at < before(limits.escalations_days),
                EscalationRow.status != "open",
            )
        ).rowcount,
    }
    return {table: int(count or 0) for table, count in counts.items()}
