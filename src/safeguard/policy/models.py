"""Store models for decisions: conversation state, message decisions, escalations.

Message text is not stored with decisions; escalations keep signal excerpts only.
The one exception is the context window (``policy.context_window``): the last few
messages of a conversation at risk, kept briefly so an escalation's case can show
them, and then kept only as that case's evidence.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from safeguard.core.clock import utcnow
from safeguard.store.db import Base


class ConversationRow(Base):
    """The streaming detector state of one conversation (``ConversationState.to_dict``)."""

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    state: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    risk: Mapped[float] = mapped_column(Float, default=0.0)
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Bumped on every write: the engine decides a batch before taking the SQLite
    # write lock and stores it only if the versions it read are still current.
    version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class MessageDecisionRow(Base):
    """The decision returned for one message.

    ``(conversation_id, message_id)`` is the idempotency key: a message id names a
    message within its conversation. ``request_digest`` binds the key to what was
    sent (see ``policy.idempotency``), so a reused key with other content is a
    conflict, not a replay.
    """

    __tablename__ = "message_decisions"

    conversation_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    risk: Mapped[float] = mapped_column(Float)
    conversation_risk: Mapped[float] = mapped_column(Float)
    decision: Mapped[dict] = mapped_column(JSON)
    case_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    request_digest: Mapped[str | None] = mapped_column(String(80), nullable=True)

    __table_args__ = (Index("ix_message_decisions_created", "created_at"),)


class EscalationRow(Base):
    """An escalation: what the case queue (next issue) opens a case from."""

    __tablename__ = "escalations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # message | media | connection_request
    subject_account_id: Mapped[str] = mapped_column(String(128), index=True)
    recipient_ids: Mapped[list] = mapped_column(JSON, default=list)
    conversation_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    message_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    risk: Mapped[float] = mapped_column(Float, default=0.0)
    priority: Mapped[int] = mapped_column(Integer, default=2)
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ConversationContextRow(Base):
    """The context window of one conversation at risk (``policy.context_window.ContextWindow``):
    its last messages' text, and the open case its next messages are appended to."""

    __tablename__ = "conversation_context"

    conversation_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    window: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
