"""Retention: delete what the service no longer needs (store the minimum).

Message decisions, contact events, conversation states and escalations each
have a limit in days (``[retention]`` in the settings). Escalations default to
one year, the REPORT Act preservation period; context windows (case evidence)
follow escalations and are kept while a case of their conversation is on legal hold.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from safeguard.accounts.models import ContactEvent
from safeguard.config import Settings
from safeguard.core.clock import utcnow
from safeguard.linking.service import purge_older_than
from safeguard.policy.models import (
    ConversationContextRow,
    ConversationRow,
    EscalationRow,
    MessageDecisionRow,
)


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
        "conversation_context": session.execute(
            delete(ConversationContextRow).where(
                ConversationContextRow.updated_at < before(limits.escalations_days),
                ConversationContextRow.conversation_id.not_in(_held_conversations()),
            )
        ).rowcount,
        "escalations": session.execute(
            delete(EscalationRow).where(
                EscalationRow.created_at < before(limits.escalations_days),
                EscalationRow.status != "open",
            )
        ).rowcount,
        "script_fingerprints": purge_older_than(session, before(limits.contact_events_days)),
    }
    return {table: int(count or 0) for table, count in counts.items()}


def _held_conversations() -> Select:
    """Conversations with a case under legal hold: their context window is kept."""
    from safeguard.cases.models import CaseRow

    return select(CaseRow.conversation_id).where(
        CaseRow.legal_hold.is_(True), CaseRow.conversation_id.is_not(None)
    )
