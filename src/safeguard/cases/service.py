"""The one way to open, queue, view and decide cases.

The API, the console and the CLI call these functions with a session; they
never commit (the caller owns the transaction). Escalations stored by the
policy engine open their cases on the write path (:mod:`safeguard.cases.escalations`);
the queue ranks and pages in SQL (:mod:`safeguard.cases.queue`); reading a case
or the queue opens nothing. Every evidence view and every decision is appended to
the audit chain. This module also re-exports those modules' names, so callers
need only ``from safeguard.cases import service as cases``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from safeguard.accounts import service as accounts
from safeguard.cases.escalations import (
    ESCALATION_KIND,
    account_snapshot,
    any_minor,
    open_for_escalation,
    set_priority_base,
    set_sla_class,
    sort_categories,
    surface_for,
    sync_from_escalations,
)
from safeguard.cases.models import CaseEscalation, CaseRow
from safeguard.cases.queue import SORTS, QueueFilters, QueueItem, account_groups, case_priority, queue
from safeguard.cases.reopening import reopen_case
from safeguard.cases.views import (
    appeal_view,
    case_dict,
    contacts_with_children,
    context_view,
    conversation_of,
    evidence_payloads,
    media_of,
    record_dict,
    signals_of,
    top_tier,
)
from safeguard.config import Settings
from safeguard.core.clock import aware, utcnow
from safeguard.errors import InputError, SafeguardError
from safeguard.evidence import case_state, chain
from safeguard.policy.models import EscalationRow, MessageDecisionRow
from safeguard.text.categories import CATEGORIES

__all__ = [
    "APPEAL_DECISIONS",
    "DECISIONS",
    "ENFORCEMENT",
    "ESCALATION_KIND",
    "KINDS",
    "REPORTING",
    "REPORT_REASONS",
    "SORTS",
    "SOURCES",
    "SURFACES",
    "TARGET_TYPES",
    "CaseNotFound",
    "QueueFilters",
    "QueueItem",
    "account_groups",
    "account_snapshot",
    "add_note",
    "assign",
    "audit",
    "aware",
    "case_dict",
    "case_priority",
    "contacts_with_children",
    "conversation_of",
    "decide",
    "evidence_payloads",
    "get_case",
    "media_of",
    "open_appeal",
    "open_for_escalation",
    "open_report",
    "queue",
    "record_reveal",
    "reopen_case",
    "resolve",
    "set_legal_hold",
    "signals_of",
    "sort_categories",
    "surface_for",
    "sync_from_escalations",
    "top_tier",
    "view_case",
]

KINDS = ("grooming", "media_match", "account_risk", "user_report", "appeal")
SOURCES = ("automated", "user_report", "appeal")
SURFACES = ("dm", "group", "public", "unknown")
TARGET_TYPES = ("message", "conversation", "account")
REPORT_REASONS = (*CATEGORIES, "abuse_media", "harassment", "other")
ENFORCEMENT = ("warn", "restrict", "suspend", "ban")
REPORTING = ("report_ncmec", "report_nca")
DECISIONS = ("dismiss", *ENFORCEMENT, *REPORTING)
APPEAL_DECISIONS = ("uphold", "overturn")


class CaseNotFound(SafeguardError):
    """No case with that id (API 404)."""

    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        super().__init__(f"no case with id {case_id!r}")


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
    """The case ``case_id`` names (or the case an escalation id joined); reads only."""
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
    target = _report_target(session, target_type, target_id, account_id)
    conversation_id, message_id, recipients, decisions = (
        target.conversation_id,
        target.message_id,
        target.recipients,
        target.decisions,
    )
    subject = target.subject
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
        child_involved=any_minor(session, settings, [reporter_id, *recipients]),
        risk=risk,
        categories=sort_categories(cats),
        actions=[],
        legal_hold=False,
        created_at=utcnow(),
    )
    set_priority_base(case)
    set_sla_class(case)
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


@dataclass(slots=True)
class _Target:
    """What a report's target tells of the case: the conversation, the message, who took part."""

    subject: str | None
    conversation_id: str | None = None
    message_id: str | None = None
    recipients: list[str] = field(default_factory=list)
    decisions: list[dict] = field(default_factory=list)


def _report_target(session: Session, target_type: str, target_id: str, subject: str | None) -> _Target:
    """The reported account, conversation and recipients, from the decisions stored."""
    if target_type == "account":
        return _Target(subject or target_id)
    if target_type == "message":
        target = _Target(subject, message_id=target_id)
        # A message id names a message within its conversation: the latest one reported.
        stored = session.execute(
            select(MessageDecisionRow)
            .where(MessageDecisionRow.message_id == target_id)
            .order_by(MessageDecisionRow.created_at.desc())
            .limit(1)
        ).scalar_one_or_none()
        if stored is not None:
            target.conversation_id = stored.conversation_id
            target.subject = subject or stored.sender_id
            target.recipients = list((stored.decision or {}).get("recipient_actions", {}).keys())
            target.decisions.append(_decision_summary(stored))
        return target
    target = _Target(subject, conversation_id=target_id)
    rows = session.execute(
        select(MessageDecisionRow)
        .where(MessageDecisionRow.conversation_id == target_id)
        .order_by(MessageDecisionRow.created_at)
        .limit(200)
    ).scalars()
    for stored in rows:
        target.decisions.append(_decision_summary(stored))
        if subject is None or stored.sender_id == subject:
            target.recipients.extend((stored.decision or {}).get("recipient_actions", {}).keys())
    return target


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
    set_priority_base(case)
    set_sla_class(case)
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
    if case.kind == "appeal" and case.appeal_of:
        deciders = {a.get("by") for a in resolve(session, case.appeal_of).actions or []}
        if actor in deciders:
            raise InputError(
                "an appeal must be decided by a reviewer other than the one who decided the case",
                field="actor",
            )
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
    case.lease_until = None
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


def view_case(session: Session, settings: Settings, case_id: str, *, actor: str) -> dict:
    """Everything a reviewer sees on a case page; the view is audited."""
    case = get_case(session, settings, case_id)
    _mark_reviewed(case)
    audit(session, actor, "view_case", case.id, {"what": "case evidence"})
    records = [record_dict(r) for r in chain.records_for_case(session, case.id)]
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
    view.update(context_view(session, case, evidence))
    if case.appeal_of:
        view.update(appeal_view(session, case, resolve(session, case.appeal_of)))
    return view
