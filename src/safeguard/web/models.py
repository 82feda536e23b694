"""Store models for console users (argon2 password hashes) and their sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from safeguard.core.clock import utcnow
from safeguard.store.db import Base


class ConsoleUser(Base):
    """A moderator: ``reviewer`` or ``admin``."""

    __tablename__ = "console_users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # A disabled user cannot log in and their sessions are ended.
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Wellness settings (``web.wellness.Wellness``): blur, greyscale, sound, break reminder.
    wellness: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class ConsoleSession(Base):
    """A login session; the cookie holds the token, the store only its SHA-256."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The current stretch of high-severity review: when it began and its last case view.
    severe_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    severe_last: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
