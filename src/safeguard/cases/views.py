"""What a reviewer reads of a case: its JSON form, its evidence, its conversation as
decided and the subject's contact with children (no text is ever stored)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safeguard.accounts.models import Account, Connection, ContactEvent
from safeguard.cases.models import CaseRow
from safeguard.cases.priority import TOP_TIER
from safeguard.cases.queue import case_priority
from safeguard.config import Settings
from safeguard.core.clock import aware, utcnow
from safeguard.core.types import Party
from safeguard.evidence import chain
from safeguard.policy import context_window
from safeguard.policy.models import MessageDecisionRow
from safeguard.policy.rules import is_minor
from safeguard.text.categories import CATEGORY_SEVERITY


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


def record_dict(record: Any) -> dict:
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
    return [record_dict(r) for r in chain.records_for_case(session, case_id) if r.kind == "evidence"]


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


def top_tier(case: CaseRow) -> bool:
    """True for coercion, meeting or media-match cases."""
    return bool(set(case.categories or []) & TOP_TIER)


def context_view(session: Session, case: CaseRow, evidence: list[dict]) -> dict:
    """The stored context window, its risk chart, and the escalations' reasons and stage."""
    messages = context_window.window_of(session, case.conversation_id)
    reasons: list[dict] = []
    stage = None
    for record in evidence:
        payload = record.get("payload") or {}
        for reason in payload.get("reasons") or []:
            if reason not in reasons:
                reasons.append(reason)
        stage = (payload.get("evidence") or {}).get("stage") or stage
    return {
        "context": messages,
        "risk_chart": context_window.risk_chart(messages),
        "reasons": reasons,
        "stage": stage,
    }


def evidence_records(session: Session, case_id: str) -> list[dict]:
    """The case's evidence records (not its audit entries), oldest first."""
    return [
        r
        for r in (record_dict(x) for x in chain.records_for_case(session, case_id))
        if r["kind"] == "evidence"
    ]


def appeal_view(session: Session, appeal: CaseRow, original: CaseRow) -> dict:
    """What an appeal's reviewer reads: the appellant's statement and the original case's
    evidence (its marked messages, media, context window, reasons and stage)."""
    evidence = evidence_records(session, original.id)
    signals = signals_of(evidence)
    return {
        "appeal_of": case_dict(original),
        "appeal_statement": appeal.details or "",
        "signals": signals,
        "conversation": conversation_of(session, original, signals),
        "media": media_of(evidence),
        **context_view(session, original, evidence),
    }
