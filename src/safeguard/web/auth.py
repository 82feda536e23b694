"""Console users, password checks (argon2id), login sessions and CSRF tokens.

The session cookie carries a random token; the store keeps only its SHA-256,
with the session's CSRF token and expiry. Every state-changing request must
send the session's CSRF token (a hidden form field), compared in constant time.
Password checks are pure CPU work (:func:`check_password`): callers run them
outside any database transaction or lock.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete
from sqlalchemy.orm import Session

from safeguard.core.clock import aware, utcnow
from safeguard.errors import InputError
from safeguard.web.models import ConsoleSession, ConsoleUser

ROLES = ("reviewer", "admin")
USERNAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MIN_PASSWORD = 10
_hasher = PasswordHasher()
# Verified against when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


@dataclass(frozen=True, slots=True)
class Identity:
    """A logged-in moderator."""

    username: str
    role: str
    csrf_token: str
    session_started: datetime

    @property
    def is_admin(self) -> bool:
        """True for the admin role."""
        return self.role == "admin"

    @property
    def actor(self) -> str:
        """How this moderator appears in the audit log."""
        return f"console:{self.username}"


def create_user(session: Session, username: str, password: str, role: str) -> ConsoleUser:
    """Create (or reset the password and role of) a console user."""
    if not USERNAME.match(username):
        raise InputError("use 1-64 letters, digits, _ . -", field="username")
    if role not in ROLES:
        raise InputError(f"must be one of {', '.join(ROLES)}", field="role")
    if len(password) < MIN_PASSWORD:
        raise InputError(f"must be at least {MIN_PASSWORD} characters", field="password")
    user = session.get(ConsoleUser, username)
    if user is None:
        user = ConsoleUser(username=username, created_at=utcnow())
        session.add(user)
    user.password_hash = _hasher.hash(password)
    user.role = role
    session.flush()
    return user


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    """The outcome of one password check; ``upgraded_hash`` when the stored hash needs new parameters."""

    ok: bool
    upgraded_hash: str | None = None


def valid_username(username: str) -> bool:
    """True when ``username`` could name a console user."""
    return bool(USERNAME.match(username or ""))


def password_hash_of(session: Session, username: str) -> str | None:
    """The stored hash for ``username`` (None for an unknown or malformed name)."""
    user = session.get(ConsoleUser, username) if valid_username(username) else None
    return user.password_hash if user else None


def check_password(stored_hash: str | None, password: str) -> PasswordCheck:
    """Verify ``password`` (argon2id, CPU and memory only: call it outside any lock).

    An unknown user (``stored_hash`` None) is checked against a dummy hash, so
    it costs the same as a known one.
    """
    try:
        _hasher.verify(stored_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return PasswordCheck(False)
    if stored_hash is None:
        return PasswordCheck(False)
    upgraded = _hasher.hash(password) if _hasher.check_needs_rehash(stored_hash) else None
    return PasswordCheck(True, upgraded)


def authenticate(session: Session, username: str, password: str) -> ConsoleUser | None:
    """The user when the password is right, else None (CLI and tests; the console checks off the session)."""
    check = check_password(password_hash_of(session, username), password)
    if not check.ok:
        return None
    user = session.get(ConsoleUser, username)
    if user is not None and check.upgraded_hash:
        user.password_hash = check.upgraded_hash
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user: ConsoleUser, hours: float) -> str:
    """Open a session for ``user``; returns the cookie token."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
    session.add(
        ConsoleSession(
            token_hash=_digest(token),
            username=user.username,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    return token


def load_session(session: Session, token: str | None, now: datetime | None = None) -> Identity | None:
    """The identity behind a cookie token, or None when unknown or expired."""
    if not token:
        return None
    row = session.get(ConsoleSession, _digest(token))
    if row is None or aware(row.expires_at) <= (now or utcnow()):
        return None
    user = session.get(ConsoleUser, row.username)
    if user is None:
        return None
    return Identity(user.username, user.role, row.csrf_token, aware(row.created_at))


def end_session(session: Session, token: str | None) -> None:
    """Log out: forget the session."""
    if token:
        session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _digest(token)))


def csrf_ok(expected: str | None, given: object) -> bool:
    """Constant-time CSRF token comparison."""
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(expected, given)
