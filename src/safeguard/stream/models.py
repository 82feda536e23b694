"""Store model: the idempotency record of media events decided from the stream.

Message events need none (``message_decisions`` is keyed by ``message_id``);
media decisions have no natural key in the store, so the worker claims the
event id in the same transaction as the decision's effects.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from safeguard.core.clock import utcnow
from safeguard.store.db import Base


class StreamMediaDecisionRow(Base):
    """One media event decided by a stream worker (``decision`` set just after commit)."""

    __tablename__ = "stream_media_decisions"

    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    decision: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
