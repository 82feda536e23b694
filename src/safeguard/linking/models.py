"""Store models for script linking: fingerprints and their LSH band keys (no text)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from safeguard.store.db import Base


class ScriptFingerprintRow(Base):
    """One fingerprinted message to one recipient."""

    __tablename__ = "script_fingerprints"
    __table_args__ = (Index("ix_script_fingerprints_sender_at", "sender_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sender_id: Mapped[str] = mapped_column(String(128))
    recipient_id: Mapped[str] = mapped_column(String(128))
    conversation_id: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    signature: Mapped[bytes] = mapped_column(LargeBinary)


class ScriptBandRow(Base):
    """One LSH band key of a fingerprint; look-up is by ``band_key``."""

    __tablename__ = "script_bands"

    fingerprint_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("script_fingerprints.id", ondelete="CASCADE"), primary_key=True
    )
    band_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
