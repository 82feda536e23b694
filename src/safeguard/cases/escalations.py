"""Cases opened from escalations, on the write path.

The policy engine, the media decision and connection requests store an escalation
and call their ``on_escalation`` hook in the same transaction; the service's hook
(:func:`safeguard.service.container.escalation_hook`) calls :func:`open_for_escalation`,
so a case exists as soon as its escalation is committed. A later escalation of the
same conversation (or, for media and account risk, of the same account) joins the
open case instead of opening another. Escalations left without a case (stored by a
writer without the hook, or before this existed) are taken up by the service's
upkeep task (:func:`sync_from_escalations`). No read opens a case.
"""

from __future__ import annotations

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from safeguard.accounts import service as accounts
from safeguard.accounts.models import Account, ContactEvent
from safeguard.cases.models import CaseEscalation, CaseRow
from safeguard.cases.priority import base_priority, more_urgent, severity, sla_class
from safeguard.config import Settings
from safeguard.core.clock import aware, utcnow
from safeguard.core.types import Party
from safeguard.evidence import case_state, chain
from safeguard.policy.models import EscalationRow
from safeguard.policy.rules import is_minor

ESCALATION_KIND = {"message": "grooming", "media": "media_match", "connection_request": "account_risk"}


def surface_for(recipient_count: int) -> str:
    """Where it happened: no recipient = public, one = direct message, more = group."""
    if recipient_count <= 0:
        return "public"
    return "dm" if recipient_count == 1 else "group"


def sort_categories(categories: set[str] | list[str]) -> list[str]:
    """Categories worst first, then by name."""
    return sorted(set(categories), key=lambda c: (-severity([c]), c))


def any_minor(session: Session, settings: Settings, ids: list[str]) -> bool:
    """True when one of ``ids`` is a protected account."""
    ids = [i for i in dict.fromkeys(ids) if i]
    if not ids:
        return False
    rows = session.execute(
        select(Account.id, Account.age_band, Account.age_assurance).where(Account.id.in_(ids))
    ).all()
    return any(is_minor(Party(r.id, r.age_band, r.age_assurance), settings.policy) for r in rows)


def set_priority_base(case: CaseRow) -> None:
    """Keep the case's stored priority (all but recency) in step with its risk, child and categories."""
    case.priority_base = base_priority(
        risk=float(case.risk or 0.0),
        child_involved=bool(case.child_involved),
        categories=case.categories or [],
    )


def set_sla_class(case: CaseRow, escalation_priority: int | None = None) -> None:
    """Keep the case's SLA class the most urgent it has had (``cases.priority.sla_class``):
    a case that grew urgent stays urgent; an escalation of priority 0 is a child in danger."""
    now = sla_class(
        kind=case.kind,
        source=case.source,
        child_involved=bool(case.child_involved),
        categories=case.categories or [],
        escalation_priority=escalation_priority,
    )
    case.sla_class = more_urgent(case.sla_class, now) if case.sla_class else now


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
    """Open (or extend) cases from open escalations that have none; returns how many were taken.

    The service's upkeep task runs this for escalations stored without the hook.
    """
    linked = exists().where(CaseEscalation.escalation_id == EscalationRow.id)
    rows = list(
        session.execute(
            select(EscalationRow)
            .where(EscalationRow.status == "open", ~linked)
            .order_by(EscalationRow.created_at, EscalationRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    for row in rows:
        open_for_escalation(session, settings, row)
    return len(rows)


def open_for_escalation(session: Session, settings: Settings, row: EscalationRow) -> CaseRow:
    """Open the case of one escalation (or add it to the open case it joins), in the
    escalation's transaction. The escalation stays ``open`` until its case is decided."""
    if row.created_at is None:
        session.flush()  # the row's defaults (its time) as the store will keep them
    kind = ESCALATION_KIND.get(row.kind, "grooming")
    cats = _escalation_categories(row, kind)
    recipients = list(row.recipient_ids or [])
    child = any_minor(session, settings, recipients)
    at = aware(row.created_at) or utcnow()
    case = _open_case(session, kind, row)
    if case is None:
        case = _new_case(row, kind, recipients, child, cats, at)
        set_sla_class(case, row.priority)
        session.add(case)
        action, state_change = "case_opened", {"state": case_state.opened(case)}
    else:
        _extend(case, kind, recipients, child, cats, float(row.risk or 0.0))
        set_sla_class(case, row.priority)
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
            # The account as the case opened; the case page reads its contacts live, so a
            # busy account's later escalations do not each pay for another snapshot.
            **(
                {"account": account_snapshot(session, row.subject_account_id, recipients)}
                if action == "case_opened"
                else {}
            ),
            **state_change,
        },
    )
    return case


def _open_case(session: Session, kind: str, row: EscalationRow) -> CaseRow | None:
    """The open case an escalation joins: same kind and subject (and conversation, for grooming)."""
    query = select(CaseRow).where(
        CaseRow.status == "open",
        CaseRow.kind == kind,
        CaseRow.subject_account_id == row.subject_account_id,
    )
    if kind == "grooming":
        query = query.where(CaseRow.conversation_id == row.conversation_id)
    return session.execute(query.limit(1)).scalar_one_or_none()


def _new_case(
    row: EscalationRow, kind: str, recipients: list[str], child: bool, cats: set[str], at: object
) -> CaseRow:
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
    set_priority_base(case)
    return case


def _extend(
    case: CaseRow, kind: str, recipients: list[str], child: bool, cats: set[str], risk: float
) -> None:
    case.recipient_ids = list(dict.fromkeys([*case.recipient_ids, *recipients]))
    case.surface = surface_for(len(case.recipient_ids)) if kind != "account_risk" else case.surface
    case.child_involved = case.child_involved or child
    case.risk = max(case.risk, risk)
    case.categories = sort_categories(set(case.categories) | cats)
    set_priority_base(case)


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
