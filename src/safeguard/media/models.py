"""Tables of the media capability: named hash banks and their entries.

Entry ids only grow (AUTOINCREMENT on SQLite, a sequence on PostgreSQL), which
lets the in-process PDQ index cache add new entries instead of rebuilding.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from safeguard.core.clock import utcnow
from safeguard.store.db import Base


class HashBank(Base):
    """A named list of known-abuse signals (hashes or URLs)."""

    __tablename__ = "media_banks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class HashBankEntry(Base):
    """One signal in a bank with where it came from (source list, external id) and why."""

    __tablename__ = "media_bank_entries"
    __table_args__ = (
        UniqueConstraint("bank_id", "signal_type", "lookup", "source", "external_id", name="uq_media_entry"),
        Index("ix_media_entries_lookup", "signal_type", "lookup"),
        Index("ix_media_entries_bank_type", "bank_id", "signal_type", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("media_banks.id", ondelete="CASCADE"), nullable=False)
    signal_type: Mapped[str] = mapped_column(String(16), nullable=False)
    value: Mapped[str] = mapped_column(Text, nullable=False)
    lookup: Mapped[str] = mapped_column(String(300), nullable=False)
    category: Mapped[str] = mapped_column(String(128), nullable=False, default="")
    source: Mapped[str] = mapped_column(String(256), nullable=False, default="")
    external_id: Mapped[str] = mapped_column(String(256), nullable=False, default="")
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
