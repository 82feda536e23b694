"""Store model for cases: one row per escalation, user report or appeal.

The row holds what the queue, the reports and the statistics need; the case's
evidence and its decision trail live in the hash-chained evidence store.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from safeguard.core.clock import utcnow
from safeguard.store.db import Base


class CaseRow(Base):
    """A case in the review queue."""

    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    escalation_id: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    subject_account_id: Mapped[str] = mapped_column(String(128), index=True)
    recipient_ids: Mapped[list] = mapped_column(JSON, default=list)
    conversation_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    message_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    target_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reporter_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    details: Mapped[str | None] = mapped_column(Text, nullable=True)
    appeal_of: Mapped[str | None] = mapped_column(String(64), nullable=True)
    surface: Mapped[str] = mapped_column(String(16), default="unknown")
    child_involved: Mapped[bool] = mapped_column(Boolean, default=False)
    risk: Mapped[float] = mapped_column(Float, default=0.0)
    categories: Mapped[list] = mapped_column(JSON, default=list)
    # The priority without its recency term (``cases.priority.base_priority``), kept in step
    # with risk, child_involved and categories: the queue ranks and pages in SQL with it.
    priority_base: Mapped[float] = mapped_column(Float, default=0.0, server_default=text("0"))
    assignee: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # Set when "take next" handed the case out: it returns to the queue after this time undecided.
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Which SLA target applies (``cases.sla.sla_class``), kept as the case grows.
    sla_class: Mapped[str] = mapped_column(String(24), default="standard", server_default=text("'standard'"))
    decision: Mapped[str | None] = mapped_column(String(32), nullable=True)
    actions: Mapped[list] = mapped_column(JSON, default=list)
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    first_reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        Index("ix_cases_status", "status"),
        Index("ix_cases_created", "created_at"),
        Index("ix_cases_subject_status", "subject_account_id", "status"),
    )


class CaseEscalation(Base):
    """Which case an escalation joined (a conversation's later escalations join its open case)."""

    __tablename__ = "case_escalations"

    escalation_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    linked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
