"""Console-user administration: list, disable, enable, change role (the CLI and the admin page).

Disabling a user ends their sessions at once (and ``auth.load_session`` refuses a
disabled user's session anyway); a disabled user cannot log in. No change may
leave the console without an enabled admin. Every change is audited in the
evidence chain in the caller's transaction; a change that changes nothing
(disabling a disabled user) writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from safeguard.cases import service as cases
from safeguard.core.clock import aware, utcnow
from safeguard.errors import InputError
from safeguard.web.auth import ROLES
from safeguard.web.models import ConsoleSession, ConsoleUser


class LastAdminError(InputError):
    """The change would leave no enabled admin (nobody could administer the console)."""


@dataclass(frozen=True, slots=True)
class UserSummary:
    """One console user as the admin page and ``console-user list`` show them."""

    username: str
    role: str
    created_at: datetime | None
    disabled_at: datetime | None
    sessions: int  # unexpired login sessions

    @property
    def enabled(self) -> bool:
        """False once disabled."""
        return self.disabled_at is None

    def to_dict(self) -> dict:
        """The JSON form."""
        return {
            "username": self.username,
            "role": self.role,
            "enabled": self.enabled,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "disabled_at": self.disabled_at.isoformat() if self.disabled_at else None,
            "sessions": self.sessions,
        }


def list_users(session: Session, now: datetime | None = None) -> list[UserSummary]:
    """Every console user, by name, with their count of unexpired sessions."""
    now = now or utcnow()
    live = dict(
        session.execute(
            select(ConsoleSession.username, func.count())
            .where(ConsoleSession.expires_at > now)
            .group_by(ConsoleSession.username)
        ).all()
    )
    users = session.execute(select(ConsoleUser).order_by(ConsoleUser.username)).scalars()
    return [
        UserSummary(
            u.username, u.role, aware(u.created_at), aware(u.disabled_at), int(live.get(u.username, 0))
        )
        for u in users
    ]


def get_user(session: Session, username: str) -> ConsoleUser:
    """The user, or InputError naming the username."""
    user = session.get(ConsoleUser, username) if username else None
    if user is None:
        raise InputError(f"no console user {username!r}", field="username")
    return user


def refuse_losing_last_admin(session: Session, user: ConsoleUser) -> None:
    """Raise LastAdminError when ``user`` is the only enabled admin (the admin rows are locked
    on PostgreSQL, so two admins demoting each other at once cannot both succeed)."""
    if user.role != "admin" or user.disabled_at is not None:
        return
    admins = session.execute(
        select(ConsoleUser.username)
        .where(ConsoleUser.role == "admin", ConsoleUser.disabled_at.is_(None))
        .with_for_update()
    ).scalars()
    if set(admins) <= {user.username}:
        raise LastAdminError(
            f"{user.username} is the last enabled admin: make another admin first", field="username"
        )


def set_disabled(session: Session, username: str, disabled: bool, *, actor: str) -> bool:
    """Disable (ending their sessions) or enable ``username``; False when nothing changed."""
    user = get_user(session, username)
    if (user.disabled_at is not None) == disabled:
        return False
    if disabled:
        refuse_losing_last_admin(session, user)
        user.disabled_at = utcnow()
        ended = session.execute(delete(ConsoleSession).where(ConsoleSession.username == username)).rowcount
        what = {"username": username, "sessions_ended": ended or 0}
        cases.audit(session, actor, "console_user_disabled", None, what)
    else:
        user.disabled_at = None
        cases.audit(session, actor, "console_user_enabled", None, {"username": username})
    return True


def set_role(session: Session, username: str, role: str, *, actor: str) -> bool:
    """Give ``username`` the role ``role``; False when it already had it."""
    if role not in ROLES:
        raise InputError(f"must be one of {', '.join(ROLES)}", field="role")
    user = get_user(session, username)
    if user.role == role:
        return False
    refuse_losing_last_admin(session, user)
    before, user.role = user.role, role
    cases.audit(
        session, actor, "console_user_role_changed", None, {"username": username, "from": before, "to": role}
    )
    return True
