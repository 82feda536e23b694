"""Reviewer wellness: each console user's media blur, greyscale, sound and break reminder.

Settings live on the user (``console_users.wellness``, JSON); the stretch of
high-severity review lives on the login session (``severe_since``/``severe_last``).
A stretch starts at the first high-severity case page and goes on while the
reviewer opens more of them less than :data:`STRETCH_GAP` apart; a longer pause,
or *Take a break*, ends it. Once a stretch has lasted ``break_minutes`` the
console shows a reminder on every page. The functions here are pure except
:func:`record_severe_view`, :func:`take_break` and :func:`save`, which write the
session or user row and the audit record in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from safeguard.cases import service as cases
from safeguard.cases.priority import TOP_TIER, severity
from safeguard.errors import InputError
from safeguard.web.models import ConsoleSession, ConsoleUser

if TYPE_CHECKING:
    from safeguard.web.auth import Identity

# Blur radii (px) a reviewer may choose: the console has no inline styles, so each is a CSS class.
# There is no zero: seeing a file unblurred is the audited reveal, never a setting.
BLUR_LEVELS = (8, 12, 18, 24, 32)
MAX_BREAK_MINUTES = 480
# A pause this long between high-severity case pages ends the stretch.
STRETCH_GAP = timedelta(minutes=10)
# Worst-signal severity (``cases.priority.severity``) from which a case counts as high-severity.
HIGH_SEVERITY = 5


@dataclass(frozen=True, slots=True)
class Wellness:
    """One reviewer's settings; the defaults are the product's (blurred, greyscale, silent)."""

    blur_px: int = 18
    greyscale: bool = True
    sound_off: bool = True
    break_minutes: int = 45  # 0: no reminder

    @classmethod
    def from_stored(cls, data: Mapping[str, Any] | None) -> Wellness:
        """Settings as stored; unknown keys and out-of-range values fall back to the defaults."""
        data = data or {}
        default = cls()
        blur = data.get("blur_px")
        minutes = data.get("break_minutes")
        return cls(
            blur_px=blur if blur in BLUR_LEVELS else default.blur_px,
            greyscale=bool(data.get("greyscale", default.greyscale)),
            sound_off=bool(data.get("sound_off", default.sound_off)),
            break_minutes=minutes
            if isinstance(minutes, int) and 0 <= minutes <= MAX_BREAK_MINUTES
            else default.break_minutes,
        )

    def to_dict(self) -> dict[str, Any]:
        """The stored form."""
        return asdict(self)


def parse_form(form: Mapping[str, str]) -> Wellness:
    """Settings from the settings page's form (an unticked checkbox is absent); InputError names the field."""
    blur = (form.get("blur_px") or "").strip()
    if not blur.isdigit() or int(blur) not in BLUR_LEVELS:
        raise InputError(f"must be one of {', '.join(map(str, BLUR_LEVELS))}", field="blur_px")
    minutes = (form.get("break_minutes") or "").strip()
    if not minutes.isdigit() or int(minutes) > MAX_BREAK_MINUTES:
        raise InputError(f"must be a whole number of minutes, 0-{MAX_BREAK_MINUTES}", field="break_minutes")
    return Wellness(
        blur_px=int(blur),
        greyscale=form.get("greyscale") == "on",
        sound_off=form.get("sound_off") == "on",
        break_minutes=int(minutes),
    )


def changes(before: Wellness, after: Wellness) -> dict[str, dict[str, Any]]:
    """What differs, as ``{field: {"from": old, "to": new}}`` (the audit payload)."""
    old, new = before.to_dict(), after.to_dict()
    return {name: {"from": old[name], "to": new[name]} for name in new if old[name] != new[name]}


def save(session: Session, username: str, settings: Wellness, *, actor: str) -> dict[str, dict[str, Any]]:
    """Store ``settings`` for ``username`` and audit what changed; returns the changes (none: no record)."""
    user = session.get(ConsoleUser, username)
    if user is None:
        raise InputError("no such console user", field="username")
    diff = changes(Wellness.from_stored(user.wellness), settings)
    if diff:
        user.wellness = settings.to_dict()
        what = {"username": username, "changes": diff}
        cases.audit(session, actor, "wellness_settings_changed", None, what)
    return diff


def high_severity(case: Mapping[str, Any], media_count: int = 0) -> bool:
    """True for a case whose review is hardest on a reviewer: top-tier signals (coercion,
    sextortion, meeting, known-abuse media), a worst signal of severity 5 or more, or media."""
    categories = set(case.get("categories") or ())
    return bool(categories & TOP_TIER) or severity(categories) >= HIGH_SEVERITY or media_count > 0


def _ongoing(last: datetime | None, now: datetime) -> bool:
    return last is not None and now - last <= STRETCH_GAP


def next_stretch(since: datetime | None, last: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """The stretch after a high-severity case page at ``now``: (since, last)."""
    if since is None or not _ongoing(last, now):
        return now, now
    return since, now


def stretch_minutes(since: datetime | None, last: datetime | None, now: datetime) -> float:
    """Minutes of the current high-severity stretch at ``now`` (0 when there is none)."""
    if since is None or not _ongoing(last, now):
        return 0.0
    return max(0.0, (now - since).total_seconds() / 60.0)


def reminder_minutes(
    settings: Wellness, since: datetime | None, last: datetime | None, now: datetime
) -> int | None:
    """Whole minutes of high-severity review once a break is due, else None."""
    if settings.break_minutes <= 0:
        return None
    minutes = stretch_minutes(since, last, now)
    return int(minutes) if minutes >= settings.break_minutes else None


def record_severe_view(session: Session, session_key: str, identity: Identity, now: datetime) -> Identity:
    """Extend the login session's stretch with a high-severity page at ``now``; returns the
    identity with the new stretch."""
    since, last = next_stretch(identity.severe_since, identity.severe_last, now)
    row = session.get(ConsoleSession, session_key)
    if row is not None:
        row.severe_since, row.severe_last = since, last
    return replace(identity, severe_since=since, severe_last=last)


def take_break(session: Session, session_key: str, identity: Identity, now: datetime) -> float:
    """End the session's stretch (audited as ``break_taken``); returns the minutes it had lasted."""
    minutes = stretch_minutes(identity.severe_since, identity.severe_last, now)
    row = session.get(ConsoleSession, session_key)
    if row is not None:
        row.severe_since = row.severe_last = None
    cases.audit(session, identity.actor, "break_taken", None, {"stretch_minutes": round(minutes, 1)})
    return minutes
