"""SLA state of a case: how long it has waited against its target, as a pure function.

Each case has an SLA class (``cases.priority.sla_class``) and each class a target
time to its first decision in minutes (``[cases.sla]``, ``config.SlaTargets``).
An open case is ``within`` its target, ``due_soon`` once ``due_soon_fraction`` of it
has passed, then ``breached``; a decided case ``met`` or ``missed`` it. The queue
sorts by the time left (:func:`minutes_left_at`, an SQL expression), so the case
closest to (or furthest past) its deadline comes first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, case, literal

from safeguard.cases.models import CaseRow
from safeguard.cases.priority import SLA_CLASSES
from safeguard.config import SlaTargets
from safeguard.core.clock import aware
from safeguard.store.sql import hours_between

SLA_LABELS = {
    "child_in_danger": "a child in danger now",
    "child_contact": "a child in contact with a flagged account",
    "known_abuse_media": "known-abuse media",
    "user_report": "a user's report",
    "standard": "an automated case",
    "appeal": "an appeal",
}


@dataclass(frozen=True, slots=True)
class SlaState:
    """Where a case stands against its SLA target, and why."""

    sla_class: str
    target_minutes: int
    due_at: datetime
    state: str  # within | due_soon | breached | met | missed
    minutes_left: float  # negative once overdue; for a decided case, at its first decision

    @property
    def reason(self) -> str:
        """One line for people: what the target is and why it applies."""
        label = SLA_LABELS.get(self.sla_class, self.sla_class)
        return f"{label}: first decision due within {humane_minutes(self.target_minutes)}"


def target_minutes(targets: SlaTargets, sla_class: str) -> int:
    """The target of ``sla_class`` (an unknown class gets the standard target)."""
    value = getattr(targets, sla_class, None) if sla_class in SLA_CLASSES else None
    return int(value if value is not None else targets.standard)


def sla_state(
    targets: SlaTargets,
    *,
    sla_class: str,
    created_at: datetime,
    decided_at: datetime | None,
    now: datetime,
) -> SlaState:
    """The SLA state of a case opened at ``created_at`` (first decided at ``decided_at``) at ``now``."""
    target = target_minutes(targets, sla_class)
    created = aware(created_at) or now
    due = created + timedelta(minutes=target)
    decided = aware(decided_at)
    if decided is not None:
        left = (due - decided).total_seconds() / 60.0
        return SlaState(sla_class, target, due, "met" if left >= 0 else "missed", left)
    left = (due - now).total_seconds() / 60.0
    if left < 0:
        state = "breached"
    elif target - left >= targets.due_soon_fraction * target:
        state = "due_soon"
    else:
        state = "within"
    return SlaState(sla_class, target, due, state, left)


def case_sla(case: CaseRow, targets: SlaTargets, now: datetime) -> SlaState:
    """:func:`sla_state` of a case row."""
    return sla_state(
        targets,
        sla_class=case.sla_class or "standard",
        created_at=case.created_at,
        decided_at=case.decided_at,
        now=now,
    )


def minutes_left_at(now: datetime, targets: SlaTargets) -> Any:
    """Minutes left to each case's SLA deadline at ``now``, as an SQL expression over the row."""
    target = case(
        *((CaseRow.sla_class == name, target_minutes(targets, name)) for name in SLA_CLASSES),
        else_=targets.standard,
    )
    age = hours_between(literal(now, DateTime(timezone=True)), CaseRow.created_at) * 60.0
    return target - age


def humane_minutes(minutes: float) -> str:
    """A duration for people: ``15 min``, ``4 h``, ``1 h 30 min``, ``3 days``."""
    minutes = abs(minutes)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{int(minutes)} min"
    if minutes < 48 * 60:
        hours, rest = divmod(int(minutes), 60)
        return f"{hours} h" + (f" {rest} min" if rest and hours < 10 else "")
    return f"{int(minutes // 1440)} days"


def humane_since(then: datetime | None, now: datetime) -> str:
    """How long ago ``then`` was, for people: ``just now``, ``12 min ago``, ``3 h ago``, ``2 days ago``."""
    then = aware(then)
    if then is None:
        return ""
    minutes = (now - then).total_seconds() / 60.0
    if minutes < 0:
        return "in " + humane_minutes(minutes)
    if minutes < 1:
        return "just now"
    return humane_minutes(minutes) + " ago"


def humane_left(state: SlaState) -> str:
    """The SLA state in words: ``due in 12 min``, ``overdue by 3 h``, ``met``, ``missed by 2 h``."""
    if state.state == "met":
        return "met"
    if state.state == "missed":
        return f"missed by {humane_minutes(state.minutes_left)}"
    if state.minutes_left < 0:
        return f"overdue by {humane_minutes(state.minutes_left)}"
    return f"due in {humane_minutes(state.minutes_left)}"
