"""The one way to open, queue, view and decide cases.

The API, the console and the CLI call these functions with a session; they
never commit (the caller owns the transaction). Escalations stored by the
policy engine become cases lazily: ``sync_from_escalations`` runs before every
queue or case read, so the engine's hot path never waits on the case store.
Every evidence view and every decision is appended to the audit chain.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safeguard.accounts import service as accounts
from safeguard.accounts.models import Account, Connection, ContactEvent, utcnow
from safeguard.cases.models import CaseEscalation, CaseRow
from safeguard.cases.priority import TOP_TIER, priority, severity
from safeguard.config import Settings
from safeguard.errors import InputError, SafeguardError
from safeguard.evidence import case_state, chain
from safeguard.policy.models import EscalationRow, MessageDecisionRow
from safeguard.policy.rules import is_minor
from safeguard.policy.types import Party
from safeguard.text.categories import CATEGORIES, CATEGORY_SEVERITY

KINDS = ("grooming", "media_match", "account_risk", "user_report", "appeal")
SOURCES = ("automated", "user_report", "appeal")
SURFACES = ("dm", "group", "public", "unknown")
TARGET_TYPES = ("message", "conversation", "account")
REPORT_REASONS = (*CATEGORIES, "abuse_media", "harassment", "other")
ENFORCEMENT = ("warn", "restrict", "suspend", "ban")
REPORTING = ("report_ncmec", "report_nca")
DECISIONS = ("dismiss", *ENFORCEMENT, *REPORTING)
APPEAL_DECISIONS = ("uphold", "overturn")
ESCALATION_KIND = {"message": "grooming", "media": "media_match", "connection_request": "account_risk"}


class CaseNotFound(SafeguardError):
    """No case with that id (API 404)."""

    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        super().__init__(f"no case with id {case_id!r}")


def aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes: treat them as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def surface_for(recipient_count: int) -> str:
    """Where it happened: no recipient = public, one = direct message, more = group."""
    if recipient_count <= 0:
        return "public"
    return "dm" if recipient_count == 1 else "group"


def sort_categories(categories: set[str] | list[str]) -> list[str]:
    """Categories worst first, then by name."""
    return sorted(set(categories), key=lambda c: (-severity([c]), c))


def _any_minor(session: Session, settings: Settings, ids: list[str]) -> bool:
    ids = [i for i in dict.fromkeys(ids) if i]
    if not ids:
        return False
    rows = session.execute(
        select(Account.id, Account.age_band, Account.age_assurance).where(Account.id.in_(ids))
    ).all()
    return any(is_minor(Party(r.id, r.age_band, r.age_assurance), settings.policy) for r in rows)


def _escalation_categories(row: EscalationRow, kind: str) -> set[str]:
    cats: set[str] = set()
    if kind == "media_match":
        cats.add("media_match")
    if kind == "account_risk":
        cats.add("account_risk")
    for signal in (row.evidence or {}).get("signals", []) or []:
        category = signal.get("category")
        if category:
            cats.add(str(category))
    return cats


def sync_from_escalations(session: Session, settings: Settings, limit: int = 500) -> int:
    """Open (or extend) cases from escalations not yet queued; returns how many were taken.

    A later escalation of the same conversation (or, for media and account
    risk, of the same account) joins the open case instead of opening another.
    """
    rows = list(
        session.execute(
            select(EscalationRow)
            .where(EscalationRow.status == "open")
            .order_by(EscalationRow.created_at, EscalationRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    taken = 0
    for row in rows:
        if session.get(CaseEscalation, row.id) is not None:
            row.status = "queued"
            continue
        kind = ESCALATION_KIND.get(row.kind, "grooming")
        cats = _escalation_categories(row, kind)
        recipients = list(row.recipient_ids or [])
        child = _any_minor(session, settings, recipients)
        query = select(CaseRow).where(
            CaseRow.status == "open",
            CaseRow.kind == kind,
            CaseRow.subject_account_id == row.subject_account_id,
        )
        if kind == "grooming":
            query = query.where(CaseRow.conversation_id == row.conversation_id)
        case = session.execute(query.limit(1)).scalar_one_or_none()
        at = aware(row.created_at) or utcnow()
        if case is None:
            case = CaseRow(
                id=row.id,
                kind=kind,
                source="automated",
                status="open",
                escalation_id=row.id,
                subject_account_id=row.subject_account_id,
                recipient_ids=recipients,
                conversation_id=row.conversation_id,
                message_id=row.message_id,
                surface=surface_for(len(recipients)),
                child_involved=child,
                risk=float(row.risk or 0.0),
                categories=sort_categories(cats),
                actions=[],
                legal_hold=False,
                created_at=at,
            )
            session.add(case)
            action = "case_opened"
            state_change = {"state": case_state.opened(case)}
        else:
            case.recipient_ids = list(dict.fromkeys([*case.recipient_ids, *recipients]))
            case.surface = surface_for(len(case.recipient_ids)) if kind != "account_risk" else case.surface
            case.child_involved = case.child_involved or child
            case.risk = max(case.risk, float(row.risk or 0.0))
            case.categories = sort_categories(set(case.categories) | cats)
            action = "evidence_added"
            state_change = {"merge": case_state.merged(float(row.risk or 0.0), child, cats)}
        session.add(CaseEscalation(escalation_id=row.id, case_id=case.id, linked_at=utcnow()))
        session.flush()
        chain.append(
            session,
            kind="evidence",
            action=action,
            actor="system",
            case_id=case.id,
            payload={
                "escalation_id": row.id,
                "escalation_kind": row.kind,
                "subject_account_id": row.subject_account_id,
                "recipient_ids": recipients,
                "conversation_id": row.conversation_id,
                "message_id": row.message_id,
                "risk": float(row.risk or 0.0),
                "reasons": list(row.reasons or []),
                "evidence": _minimal_evidence(row.evidence or {}),
                "escalated_at": at.isoformat(),
                "account": account_snapshot(session, row.subject_account_id, recipients),
                **state_change,
            },
        )
        row.status = "queued"
        taken += 1
    return taken


def _minimal_evidence(evidence: dict) -> dict:
    """Excerpts, hashes and scores only: never whole messages or media."""
    keep = {}
    for key in ("stage", "signals", "author_scores", "hashes", "matches", "account_risk"):
        if key in evidence:
            keep[key] = evidence[key]
    return keep


def account_snapshot(session: Session, account_id: str, others: list[str]) -> dict:
    """Account and connection metadata at the time of the case: age, assurance, risk, links."""
    account = session.get(Account, account_id)
    risk = accounts.cached_account_risk(session, account_id)
    connected = accounts.connected_among(session, account_id, others) if others else set()
    return {
        "account_id": account_id,
        "age_band": account.age_band if account else "unknown",
        "age_assurance": account.age_assurance if account else None,
        "declared_age_band": account.declared_age_band if account else None,
        "account_created_at": (aware(account.created_at) or utcnow()).isoformat() if account else None,
        "account_risk": round(float(risk.risk), 4),
        "account_risk_reasons": [r.code for r in risk.reasons],
        "connected_to": sorted(connected),
        "unconnected": sorted(set(others) - connected - {account_id}),
        "unconnected_minors_contacted": int(
            session.execute(
                select(func.count(func.distinct(ContactEvent.recipient_id))).where(
                    ContactEvent.sender_id == account_id
                )
            ).scalar()
            or 0
        ),
    }


def resolve(session: Session, case_id: str) -> CaseRow:
    """The case with ``case_id``, or the case an escalation id joined."""
    case = session.get(CaseRow, case_id)
    if case is None:
        link = session.get(CaseEscalation, case_id)
        if link is not None:
            case = session.get(CaseRow, link.case_id)
    if case is None:
        raise CaseNotFound(case_id)
    return case


def get_case(session: Session, settings: Settings, case_id: str) -> CaseRow:
    """Sync pending escalations, then resolve ``case_id``."""
    sync_from_escalations(session, settings)
    return resolve(session, case_id)


def audit(session: Session, actor: str, action: str, case_id: str | None, what: dict) -> None:
    """Append an audit record (who, when, what)."""
    chain.append(session, kind="audit", action=action, actor=actor, case_id=case_id, payload=what)


def open_report(
    session: Session,
    settings: Settings,
    *,
    reporter_id: str,
    target_type: str,
    target_id: str,
    reason: str,
    details: str | None = None,
    account_id: str | None = None,
    surface: str | None = None,
) -> CaseRow:
    """A user report (a child's included) of a message, conversation or account becomes a case."""
    if target_type not in TARGET_TYPES:
        raise InputError(f"must be one of {', '.join(TARGET_TYPES)}", field="target_type")
    if reason not in REPORT_REASONS:
        raise InputError(f"must be one of {', '.join(REPORT_REASONS)}", field="reason")
    conversation_id = message_id = None
    recipients: list[str] = []
    decisions: list[dict] = []
    subject = account_id
    if target_type == "account":
        subject = subject or target_id
    elif target_type == "message":
        message_id = target_id
        # A message id names a message within its conversation: the latest one reported.
        stored = session.execute(
            select(MessageDecisionRow)
            .where(MessageDecisionRow.message_id == target_id)
            .order_by(MessageDecisionRow.created_at.desc())
            .limit(1)
        ).scalar_one_or_none()
        if stored is not None:
            conversation_id = stored.conversation_id
            subject = subject or stored.sender_id
            recipients = list((stored.decision or {}).get("recipient_actions", {}).keys())
            decisions.append(_decision_summary(stored))
    else:
        conversation_id = target_id
        rows = session.execute(
            select(MessageDecisionRow)
            .where(MessageDecisionRow.conversation_id == target_id)
            .order_by(MessageDecisionRow.created_at)
            .limit(200)
        ).scalars()
        for stored in rows:
            decisions.append(_decision_summary(stored))
            if subject is None or stored.sender_id == subject:
                recipients.extend((stored.decision or {}).get("recipient_actions", {}).keys())
    if not subject:
        raise InputError("name the reported account (account_id) for this target", field="account_id")
    if surface is not None and surface not in SURFACES:
        raise InputError(f"must be one of {', '.join(SURFACES)}", field="surface")
    recipients = [r for r in dict.fromkeys(recipients) if r != subject]
    if reporter_id != subject and reporter_id not in recipients:
        recipients.append(reporter_id)
    cats = {"media_match"} if reason == "abuse_media" else ({reason} if reason in CATEGORIES else set())
    if surface is None:
        surface = surface_for(len(recipients)) if target_type != "account" else "unknown"
    risk = max(
        [float(d.get("conversation_risk", 0.0)) for d in decisions]
        + [float(accounts.cached_account_risk(session, subject).risk)]
    )
    case = CaseRow(
        id=uuid.uuid4().hex,
        kind="user_report",
        source="user_report",
        status="open",
        subject_account_id=subject,
        recipient_ids=recipients,
        conversation_id=conversation_id,
        message_id=message_id,
        target_type=target_type,
        reporter_id=reporter_id,
        reason=reason,
        details=(details or None),
        surface=surface,
        child_involved=_any_minor(session, settings, [reporter_id, *recipients]),
        risk=risk,
        categories=sort_categories(cats),
        actions=[],
        legal_hold=False,
        created_at=utcnow(),
    )
    session.add(case)
    session.flush()
    chain.append(
        session,
        kind="evidence",
        action="case_opened",
        actor=f"user:{reporter_id}",
        case_id=case.id,
        payload={
            "report": {
                "reporter_id": reporter_id,
                "target_type": target_type,
                "target_id": target_id,
                "reason": reason,
                "details": details,
            },
            "subject_account_id": subject,
            "conversation_id": conversation_id,
            "message_id": message_id,
            "decisions": decisions,
            "account": account_snapshot(session, subject, recipients),
            "state": case_state.opened(case),
        },
    )
    return case


def _decision_summary(row: MessageDecisionRow) -> dict:
    """What the engine decided on a message: scores and reason codes, no text."""
    decision = row.decision or {}
    return {
        "message_id": row.message_id,
        "sender_id": row.sender_id,
        "action": row.action,
        "risk": row.risk,
        "conversation_risk": row.conversation_risk,
        "reasons": [r.get("code") for r in decision.get("reasons", [])],
        "at": (aware(row.created_at) or utcnow()).isoformat(),
    }


def open_appeal(
    session: Session, settings: Settings, *, account_id: str, case_id: str, statement: str
) -> CaseRow:
    """An actioned account appeals a decision: a new case linked to the original."""
    original = get_case(session, settings, case_id)
    if original.subject_account_id != account_id:
        raise InputError("only the actioned account may appeal this case", field="account_id")
    if not any(a.get("decision") in ENFORCEMENT for a in original.actions or []):
        raise InputError("this case has no enforcement action to appeal", field="case_id")
    existing = session.execute(
        select(CaseRow).where(CaseRow.appeal_of == original.id, CaseRow.status == "open")
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    case = CaseRow(
        id=uuid.uuid4().hex,
        kind="appeal",
        source="appeal",
        status="open",
        subject_account_id=account_id,
        recipient_ids=[],
        conversation_id=original.conversation_id,
        appeal_of=original.id,
        reason="appeal",
        details=statement,
        surface=original.surface,
        child_involved=False,
        risk=0.0,
        categories=[],
        actions=[],
        legal_hold=False,
        created_at=utcnow(),
    )
    session.add(case)
    session.flush()
    chain.append(
        session,
        kind="evidence",
        action="appeal_opened",
        actor=f"user:{account_id}",
        case_id=case.id,
        payload={
            "appeal_of": original.id,
            "statement": statement,
            "decision": original.decision,
            "state": case_state.opened(case),
        },
    )
    return case


@dataclass(slots=True)
class QueueFilters:
    """Queue filters; None means any."""

    status: str | None = "open"
    kind: str | None = None
    source: str | None = None
    surface: str | None = None
    category: str | None = None
    child_involved: bool | None = None
    assignee: str | None = None
    limit: int = 100
    offset: int = 0


@dataclass(slots=True)
class QueueItem:
    """A case as the queue lists it, with its priority."""

    case: CaseRow
    priority: float
    extra: dict = field(default_factory=dict)


def case_priority(case: CaseRow, now: datetime | None = None) -> float:
    """The priority of ``case`` at ``now``."""
    now = now or utcnow()
    created = aware(case.created_at) or now
    return priority(
        risk=case.risk,
        child_involved=case.child_involved,
        categories=case.categories or [],
        age_hours=(now - created).total_seconds() / 3600.0,
    )


def queue(
    session: Session,
    settings: Settings,
    filters: QueueFilters | None = None,
    *,
    visible_to: str | None = None,
    now: datetime | None = None,
) -> tuple[list[QueueItem], int]:
    """Cases matching ``filters``, highest priority first, and the total before paging.

    ``visible_to`` limits the list to unassigned cases and those assigned to
    that reviewer (the console's reviewer role).
    """
    filters = filters or QueueFilters()
    sync_from_escalations(session, settings)
    query = select(CaseRow)
    if filters.status:
        query = query.where(CaseRow.status == filters.status)
    for column, value in (
        (CaseRow.kind, filters.kind),
        (CaseRow.source, filters.source),
        (CaseRow.surface, filters.surface),
        (CaseRow.assignee, filters.assignee),
        (CaseRow.child_involved, filters.child_involved),
    ):
        if value is not None:
            query = query.where(column == value)
    if visible_to is not None:
        query = query.where((CaseRow.assignee.is_(None)) | (CaseRow.assignee == visible_to))
    rows = list(session.execute(query).scalars())
    if filters.category:
        rows = [r for r in rows if filters.category in (r.categories or [])]
    now = now or utcnow()
    items = [QueueItem(r, case_priority(r, now)) for r in rows]
    items.sort(key=lambda i: (-i.priority, aware(i.case.created_at) or now, i.case.id))
    return items[filters.offset : filters.offset + filters.limit], len(items)


def _mark_reviewed(case: CaseRow) -> None:
    if case.first_reviewed_at is None:
        case.first_reviewed_at = utcnow()


def decide(
    session: Session,
    settings: Settings,
    case_id: str,
    *,
    decision: str,
    actor: str,
    note: str | None = None,
) -> CaseRow:
    """Record a reviewer's decision; the case closes (later actions may still be added)."""
    case = get_case(session, settings, case_id)
    allowed = APPEAL_DECISIONS if case.kind == "appeal" else DECISIONS
    if decision not in allowed:
        raise InputError(f"must be one of {', '.join(allowed)}", field="decision")
    if case.purged_at is not None:
        raise InputError("this case's evidence has been purged", field="case_id")
    now = utcnow()
    _mark_reviewed(case)
    decided_now = case.decided_at is None
    reported_now = decision in REPORTING and case.reported_at is None
    if decided_now:
        case.decided_at = now
    if reported_now:
        case.reported_at = now
    entry = {"decision": decision, "by": actor, "at": now.isoformat(), "note": note}
    case.actions = [*(case.actions or []), entry]
    case.decision = decision
    case.status = "closed"
    if case.escalation_id:
        for link in session.execute(
            select(CaseEscalation.escalation_id).where(CaseEscalation.case_id == case.id)
        ).scalars():
            escalation = session.get(EscalationRow, link)
            if escalation is not None:
                escalation.status = "closed"
    chain.append(
        session,
        kind="evidence",
        action="decision",
        actor=actor,
        case_id=case.id,
        payload={
            "decision": decision,
            "note": note,
            "state": case_state.decided(case, decided_now=decided_now, reported_now=reported_now),
        },
    )
    if case.kind == "appeal" and case.appeal_of and decision == "overturn":
        original = resolve(session, case.appeal_of)
        original.actions = [
            *(original.actions or []),
            {"decision": "overturned", "by": actor, "at": now.isoformat(), "note": f"appeal {case.id}"},
        ]
        original.decision = "overturned"
        chain.append(
            session,
            kind="evidence",
            action="decision_overturned",
            actor=actor,
            case_id=original.id,
            payload={"appeal": case.id, "state": {"decision": original.decision}},
        )
    return case


def add_note(session: Session, settings: Settings, case_id: str, *, actor: str, text: str) -> CaseRow:
    """Add a reviewer note to the case's trail."""
    text = text.strip()
    if not text:
        raise InputError("a note cannot be empty", field="text")
    case = get_case(session, settings, case_id)
    _mark_reviewed(case)
    chain.append(
        session, kind="evidence", action="note", actor=actor, case_id=case.id, payload={"text": text}
    )
    return case


def assign(
    session: Session, settings: Settings, case_id: str, *, assignee: str | None, actor: str
) -> CaseRow:
    """(Re)assign the case to a reviewer, or unassign it (None)."""
    case = get_case(session, settings, case_id)
    previous = case.assignee
    case.assignee = assignee or None
    chain.append(
        session,
        kind="audit",
        action="assign",
        actor=actor,
        case_id=case.id,
        payload={"from": previous, "to": case.assignee, "state": {"assignee": case.assignee}},
    )
    return case


def set_legal_hold(session: Session, settings: Settings, case_id: str, *, hold: bool, actor: str) -> CaseRow:
    """Place or lift a legal hold: held evidence is never purged."""
    case = get_case(session, settings, case_id)
    case.legal_hold = hold
    chain.append(
        session,
        kind="audit",
        action="legal_hold" if hold else "legal_hold_lifted",
        actor=actor,
        case_id=case.id,
        payload={"legal_hold": hold, "state": {"legal_hold": bool(hold)}},
    )
    return case


def record_reveal(session: Session, settings: Settings, case_id: str, *, item: int, actor: str) -> CaseRow:
    """A reviewer chose to reveal one media item (audited; the ESP has now viewed the file)."""
    case = get_case(session, settings, case_id)
    _mark_reviewed(case)
    audit(session, actor, "reveal_media", case.id, {"item": item})
    return case


def case_dict(case: CaseRow, now: datetime | None = None) -> dict[str, Any]:
    """The JSON form of a case (no evidence)."""

    def iso(value: datetime | None) -> str | None:
        value = aware(value)
        return value.isoformat() if value else None

    return {
        "id": case.id,
        "kind": case.kind,
        "source": case.source,
        "status": case.status,
        "priority": case_priority(case, now),
        "subject_account_id": case.subject_account_id,
        "recipient_ids": list(case.recipient_ids or []),
        "conversation_id": case.conversation_id,
        "message_id": case.message_id,
        "target_type": case.target_type,
        "reporter_id": case.reporter_id,
        "reason": case.reason,
        "appeal_of": case.appeal_of,
        "surface": case.surface,
        "child_involved": bool(case.child_involved),
        "risk": round(float(case.risk or 0.0), 6),
        "categories": list(case.categories or []),
        "assignee": case.assignee,
        "decision": case.decision,
        "actions": list(case.actions or []),
        "legal_hold": bool(case.legal_hold),
        "created_at": iso(case.created_at),
        "first_reviewed_at": iso(case.first_reviewed_at),
        "decided_at": iso(case.decided_at),
        "reported_at": iso(case.reported_at),
        "purged_at": iso(case.purged_at),
    }


def _record_dict(record: Any) -> dict:
    return {
        "seq": record.seq,
        "kind": record.kind,
        "action": record.action,
        "actor": record.actor,
        "at": record.at,
        "payload": chain.payload_of(record),
        "purged": bool(record.purged),
    }


def evidence_payloads(session: Session, case_id: str) -> list[dict]:
    """The case's evidence records (not audit records), decoded, in order."""
    return [_record_dict(r) for r in chain.records_for_case(session, case_id) if r.kind == "evidence"]


def signals_of(records: list[dict]) -> list[dict]:
    """Every signal excerpt in the case's evidence (deduplicated)."""
    seen: set[tuple] = set()
    out = []
    for record in records:
        payload = record.get("payload") or {}
        for signal in (payload.get("evidence") or {}).get("signals", []) or []:
            key = (signal.get("category"), signal.get("message_index"), signal.get("excerpt"))
            if key in seen:
                continue
            seen.add(key)
            out.append(signal)
    return out


def media_of(records: list[dict]) -> list[dict]:
    """Every matched media item in the case's evidence: hashes and bank matches only."""
    items = []
    for record in records:
        payload = record.get("payload") or {}
        evidence = payload.get("evidence") or {}
        if "hashes" in evidence or "matches" in evidence:
            items.append(
                {
                    "index": len(items),
                    "message_id": payload.get("message_id"),
                    "hashes": {
                        k: v
                        for k, v in (evidence.get("hashes") or {}).items()
                        if k in ("pdq", "md5", "sha256")
                    },
                    "matches": list(evidence.get("matches") or []),
                    "at": payload.get("escalated_at") or record["at"],
                }
            )
    return items


def conversation_of(session: Session, case: CaseRow, signals: list[dict]) -> list[dict]:
    """The conversation's messages as decided (no text is stored), with the excerpts behind the score."""
    if not case.conversation_id:
        return []
    rows = list(
        session.execute(
            select(MessageDecisionRow)
            .where(MessageDecisionRow.conversation_id == case.conversation_id)
            .order_by(MessageDecisionRow.created_at, MessageDecisionRow.message_id)
            .limit(500)
        ).scalars()
    )
    by_index: dict[int, list[dict]] = {}
    for signal in signals:
        index = signal.get("message_index")
        if isinstance(index, int):
            by_index.setdefault(index, []).append(signal)
    messages = []
    for index, row in enumerate(rows):
        fired = sorted(by_index.pop(index, []), key=lambda s: -CATEGORY_SEVERITY.get(s.get("category"), 0))
        messages.append(
            {
                "index": index,
                "message_id": row.message_id,
                "sender_id": row.sender_id,
                "action": row.action,
                "risk": round(float(row.risk), 4),
                "at": (aware(row.created_at) or utcnow()).isoformat(),
                "signals": fired,
                "in_case": row.message_id == case.message_id,
            }
        )
    for index in sorted(by_index):
        messages.append(
            {
                "index": index,
                "message_id": None,
                "sender_id": None,
                "action": None,
                "risk": None,
                "at": None,
                "signals": by_index[index],
                "in_case": False,
            }
        )
    return messages


def contacts_with_children(session: Session, settings: Settings, account_id: str) -> dict:
    """The account's contact with minors: unconnected minors it messaged, and minor connections."""
    rows = session.execute(
        select(ContactEvent.recipient_id, func.count(), func.max(ContactEvent.at))
        .where(ContactEvent.sender_id == account_id)
        .group_by(ContactEvent.recipient_id)
        .order_by(func.count().desc())
        .limit(200)
    ).all()
    connected = [
        b if a == account_id else a
        for a, b in session.execute(
            select(Connection.a_id, Connection.b_id).where(
                (Connection.a_id == account_id) | (Connection.b_id == account_id)
            )
        ).all()
    ]
    ids = list({r[0] for r in rows} | set(connected))
    bands = {
        r.id: Party(r.id, r.age_band, r.age_assurance)
        for r in session.execute(
            select(Account.id, Account.age_band, Account.age_assurance).where(Account.id.in_(ids))
        ).all()
    }
    contacted = [
        {
            "account_id": rid,
            "age_band": bands.get(rid, Party(rid)).age_band,
            "messages": int(count),
            "last_at": (aware(last) or utcnow()).isoformat(),
        }
        for rid, count, last in rows
    ]
    minors = [
        {"account_id": cid, "age_band": bands[cid].age_band}
        for cid in sorted(connected)
        if cid in bands and is_minor(bands[cid], settings.policy)
    ]
    return {"unconnected_minors_contacted": contacted, "connected_minors": minors}


def view_case(session: Session, settings: Settings, case_id: str, *, actor: str) -> dict:
    """Everything a reviewer sees on a case page; the view is audited."""
    case = get_case(session, settings, case_id)
    _mark_reviewed(case)
    audit(session, actor, "view_case", case.id, {"what": "case evidence"})
    records = [_record_dict(r) for r in chain.records_for_case(session, case.id)]
    evidence = [r for r in records if r["kind"] == "evidence"]
    signals = signals_of(evidence)
    view = {
        "case": case_dict(case),
        "evidence": evidence,
        "timeline": records,
        "notes": [r for r in evidence if r["action"] == "note"],
        "signals": signals,
        "conversation": conversation_of(session, case, signals),
        "media": media_of(evidence),
        "contacts_with_children": contacts_with_children(session, settings, case.subject_account_id),
        "account": next(
            (r["payload"]["account"] for r in evidence if (r["payload"] or {}).get("account")), None
        ),
        "appeal_of": None,
    }
    if case.appeal_of:
        view["appeal_of"] = case_dict(resolve(session, case.appeal_of))
    return view


def top_tier(case: CaseRow) -> bool:
    """True for coercion, meeting or media-match cases."""
    return bool(set(case.categories or []) & TOP_TIER)
