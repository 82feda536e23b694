"""Store models for accounts, connections, API keys and account-level risk inputs.

No message text is stored here: only who contacted whom, when, and which
signal categories fired.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from safeguard.core.clock import utcnow
from safeguard.store.db import Base


class Account(Base):
    """A platform account: its age band, how that age was assured, and profile fields."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    age_band: Mapped[str] = mapped_column(String(16), default="unknown")
    age_assurance: Mapped[str] = mapped_column(String(16), default="self_declared")
    declared_age_band: Mapped[str | None] = mapped_column(String(16), nullable=True)
    location: Mapped[str | None] = mapped_column(String(256), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Connection(Base):
    """An accepted connection, stored once with ``a_id < b_id``."""

    __tablename__ = "connections"

    a_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    b_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_connections_b", "b_id"),)


class ContactPermission(Base):
    """A minor confirmed contact from an account they are not connected to."""

    __tablename__ = "contact_permissions"

    minor_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    other_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    confirmed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiKey(Base):
    """An API key, stored as a SHA-256 hash of the secret, with its scopes."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ContactEvent(Base):
    """A message from one account to a minor it is not connected to (fan-out input)."""

    __tablename__ = "contact_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sender_id: Mapped[str] = mapped_column(String(128))
    recipient_id: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_contact_events_sender_at", "sender_id", "at"),)


class AccountSignal(Base):
    """A grooming signal category an account's message fired, per conversation."""

    __tablename__ = "account_signals"

    account_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=1)
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AccountMediaMatch(Base):
    """A bank match on media an account sent (accounts sharing known media)."""

    __tablename__ = "account_media_matches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(128), index=True)
    bank: Mapped[str] = mapped_column(String(128))
    entry_id: Mapped[str] = mapped_column(String(128))
    category: Mapped[str | None] = mapped_column(Text, nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AccountRiskScore(Base):
    """Last computed account-level risk, cached for cheap reads on the message path."""

    __tablename__ = "account_risk"

    account_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    risk: Mapped[float] = mapped_column(Float, default=0.0)
    reasons: Mapped[str] = mapped_column(Text, default="[]")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
