"""Console users, password checks (argon2id), login sessions and CSRF tokens.

The session cookie carries a random token; the store keeps only its SHA-256,
with the session's CSRF token and expiry. A disabled user cannot log in and
their sessions stop working (``web.users`` disables, enables and changes roles).
Every state-changing request must send the session's CSRF token (a hidden form
field), compared in constant time.
Password checks are pure CPU work (:func:`check_password`): callers run them
outside any database transaction or lock.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete
from sqlalchemy.orm import Session

from safeguard.cases import service as cases
from safeguard.core.clock import aware, utcnow
from safeguard.errors import InputError
from safeguard.web.models import ConsoleSession, ConsoleUser
from safeguard.web.wellness import Wellness

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
    session_key: str = ""  # the stored session's key (SHA-256 of the cookie token)
    wellness: Wellness = field(default_factory=Wellness)
    severe_since: datetime | None = None  # the current stretch of high-severity review
    severe_last: datetime | None = None

    @property
    def is_admin(self) -> bool:
        """True for the admin role."""
        return self.role == "admin"

    @property
    def actor(self) -> str:
        """How this moderator appears in the audit log."""
        return f"console:{self.username}"


def create_user(
    session: Session, username: str, password: str, role: str, *, actor: str | None = None
) -> ConsoleUser:
    """Create (or reset the password and role of) a console user; audited when ``actor`` is given.

    A reset keeps a disabled user disabled, and cannot demote the last enabled admin.
    """
    if not USERNAME.match(username):
        raise InputError("use 1-64 letters, digits, _ . -", field="username")
    if role not in ROLES:
        raise InputError(f"must be one of {', '.join(ROLES)}", field="role")
    if len(password) < MIN_PASSWORD:
        raise InputError(f"must be at least {MIN_PASSWORD} characters", field="password")
    user = session.get(ConsoleUser, username)
    created = user is None
    if user is None:
        user = ConsoleUser(username=username, created_at=utcnow())
        session.add(user)
    elif role != "admin":
        from safeguard.web.users import refuse_losing_last_admin

        refuse_losing_last_admin(session, user)
    user.password_hash = _hasher.hash(password)
    user.role = role
    session.flush()
    if actor is not None:
        action = "console_user_created" if created else "console_user_password_reset"
        cases.audit(session, actor, action, None, {"username": username, "role": role})
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
    """The stored hash for ``username`` (None for an unknown, malformed or disabled name)."""
    user = session.get(ConsoleUser, username) if valid_username(username) else None
    return user.password_hash if user is not None and user.disabled_at is None else None


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
    if user is None or user.disabled_at is not None:
        return None
    if check.upgraded_hash:
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
    """The identity behind a cookie token, or None when unknown, expired or its user disabled."""
    if not token:
        return None
    row = session.get(ConsoleSession, _digest(token))
    if row is None or aware(row.expires_at) <= (now or utcnow()):
        return None
    user = session.get(ConsoleUser, row.username)
    if user is None or user.disabled_at is not None:
        return None
    return Identity(
        user.username,
        user.role,
        row.csrf_token,
        aware(row.created_at),
        session_key=row.token_hash,
        wellness=Wellness.from_stored(user.wellness),
        severe_since=aware(row.severe_since),
        severe_last=aware(row.severe_last),
    )


def end_session(session: Session, token: str | None) -> None:
    """Log out: forget the session."""
    if token:
        session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _digest(token)))


def csrf_ok(expected: str | None, given: object) -> bool:
    """Constant-time CSRF token comparison."""
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(expected, given)
