"""A case's state as the chain records it, so the ``cases`` table can be checked against it.

Every record that changes a case carries the fields it set (``state``) or,
for evidence joining an open case, the values merged into it (``merge``:
highest risk, any child involved, union of categories). Replaying a case's
records in order gives the values its row must hold; a field no record fixes
(records written before this existed, or erased by retention) is not checked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from safeguard.cases.models import CaseRow
from safeguard.evidence.models import EvidenceRecord

TRACKED = (
    "status",
    "decision",
    "assignee",
    "legal_hold",
    "decided_at",
    "reported_at",
    "purged",
    "risk",
    "child_involved",
    "categories",
)
OPENING_ACTIONS = ("case_opened", "appeal_opened")
STATE_ACTIONS = (
    *OPENING_ACTIONS,
    "evidence_added",
    "decision",
    "decision_overturned",
    "assign",
    "legal_hold",
    "legal_hold_lifted",
)
_UNSET_AT_OPENING = {
    "status": "open",
    "decision": None,
    "assignee": None,
    "legal_hold": False,
    "decided_at": None,
    "reported_at": None,
    "purged": False,
}


def iso_utc(value: datetime | None) -> str | None:
    """A timestamp as the chain records it: UTC ISO 8601 with microseconds (naive means UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def row_state(case: CaseRow) -> dict[str, Any]:
    """The tracked fields of a case row, normalised for comparison."""
    return {
        "status": case.status,
        "decision": case.decision,
        "assignee": case.assignee,
        "legal_hold": bool(case.legal_hold),
        "decided_at": iso_utc(case.decided_at),
        "reported_at": iso_utc(case.reported_at),
        "purged": case.purged_at is not None,
        "risk": float(case.risk or 0.0),
        "child_involved": bool(case.child_involved),
        "categories": sorted(set(case.categories or [])),
    }


def opened(case: CaseRow) -> dict[str, Any]:
    """The ``state`` of a case-opening record: every tracked field of the new case."""
    return row_state(case)


def decided(case: CaseRow, *, decided_now: bool, reported_now: bool) -> dict[str, Any]:
    """The ``state`` of a decision record: what ``decide`` set (timestamps only when it set them)."""
    state: dict[str, Any] = {"status": case.status, "decision": case.decision}
    if decided_now:
        state["decided_at"] = iso_utc(case.decided_at)
    if reported_now:
        state["reported_at"] = iso_utc(case.reported_at)
    return state


def merged(risk: float, child_involved: bool, categories: set[str] | list[str]) -> dict[str, Any]:
    """The ``merge`` of an evidence record joining an open case."""
    return {
        "risk": float(risk),
        "child_involved": bool(child_involved),
        "categories": sorted(set(categories)),
    }


@dataclass(slots=True)
class CaseTrail:
    """What the chain says about one case: known field values and the record that set each."""

    case_id: str
    opened_seq: int | None = None
    last_seq: int = 0
    known: dict[str, Any] = field(default_factory=dict)
    set_by: dict[str, int] = field(default_factory=dict)

    def put(self, name: str, value: Any, seq: int) -> None:
        """Record that ``seq`` set field ``name`` to ``value``."""
        self.known[name] = value
        self.set_by[name] = seq

    def forget(self, *names: str) -> None:
        """The chain no longer fixes these fields."""
        for name in names:
            self.known.pop(name, None)
            self.set_by.pop(name, None)

    def apply(self, record: EvidenceRecord, payload: dict | None) -> None:
        """Replay one record of this case."""
        self.last_seq = record.seq
        action = record.action
        if action in OPENING_ACTIONS and self.opened_seq is None:
            self.opened_seq = record.seq
        if action not in STATE_ACTIONS:
            return
        if payload is None:
            self.forget(*(name for name in TRACKED if name != "purged"))
            return
        if "state" in payload or "merge" in payload:
            for name, value in (payload.get("state") or {}).items():
                if name in TRACKED:
                    self.put(name, value, record.seq)
            self._merge(payload.get("merge") or {}, record.seq)
            return
        self._apply_legacy(action, payload, record.seq)

    def _merge(self, merge: dict, seq: int) -> None:
        if "risk" in merge and "risk" in self.known:
            self.put("risk", max(float(self.known["risk"]), float(merge["risk"])), seq)
        if "child_involved" in merge and "child_involved" in self.known:
            child = bool(self.known["child_involved"]) or bool(merge["child_involved"])
            self.put("child_involved", child, seq)
        if "categories" in merge and "categories" in self.known:
            self.put("categories", sorted(set(self.known["categories"]) | set(merge["categories"])), seq)

    def _apply_legacy(self, action: str, payload: dict, seq: int) -> None:
        """Records written before they carried their ``state``: what the action implies."""
        if action in OPENING_ACTIONS:
            for name, value in _UNSET_AT_OPENING.items():
                self.put(name, value, seq)
            self.forget("risk", "child_involved", "categories")
        elif action == "evidence_added":
            self.forget("risk", "child_involved", "categories")
        elif action == "decision":
            self.put("status", "closed", seq)
            self.put("decision", payload.get("decision"), seq)
            for name in ("decided_at", "reported_at"):
                if self.known.get(name, "unknown") is None:
                    self.forget(name)
        elif action == "decision_overturned":
            self.put("decision", "overturned", seq)
        elif action == "assign":
            self.put("assignee", payload.get("to"), seq)
        elif action in ("legal_hold", "legal_hold_lifted"):
            self.put("legal_hold", action == "legal_hold", seq)

    def purged(self, seq: int, state: dict | None) -> None:
        """A retention ``purge`` record named this case (with its state then, when recorded)."""
        self.last_seq = max(self.last_seq, seq)
        for name, value in (state or {}).items():
            if name in TRACKED:
                self.put(name, value, seq)
        self.put("purged", True, seq)


def differences(trail: CaseTrail, case: CaseRow) -> list[tuple[str, Any, Any, int]]:
    """``(field, in the table, per the chain, record)`` for every tracked field that disagrees."""
    row = row_state(case)
    out = []
    for name in TRACKED:
        if name not in trail.known:
            continue
        expected = trail.known[name]
        actual = row[name]
        if name == "categories":
            expected = sorted(set(expected or []))
        elif name == "risk":
            expected = float(expected)
        if actual != expected:
            out.append((name, actual, expected, trail.set_by[name]))
    return out


def trail_for(case_id: str, records: list[EvidenceRecord]) -> CaseTrail:
    """Replay ``records`` (one case's, in chain order) into its trail."""
    trail = CaseTrail(case_id)
    for record in records:
        payload = None if record.payload is None else json.loads(record.payload)
        trail.apply(record, payload)
    return trail


def describe(case_id: str, diffs: list[tuple[str, Any, Any, int]]) -> str:
    """One line naming each field of the case that disagrees with the chain."""
    parts = [
        f"{name} is {actual!r} in the table but record {seq} says {expected!r}"
        for name, actual, expected, seq in diffs
    ]
    return f"case {case_id}: " + "; ".join(parts)
