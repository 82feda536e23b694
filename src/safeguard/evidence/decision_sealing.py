"""The maintenance side of decision coverage: append digests, account for retention purges.

Digests are computed on a read session (no lock held while hashing) and
appended afterwards under the chain's head lock, only if no other process
sealed or purged meanwhile. A purge of old decisions first re-checks the
ranges it will cut, then deletes, then records what it removed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safeguard.config import Settings
from safeguard.core.clock import aware
from safeguard.evidence import chain
from safeguard.evidence.case_state import iso_utc
from safeguard.evidence.decision_digest import (
    DIGEST_ACTION,
    PURGE_ACTION,
    TABLE,
    DecisionLedger,
    RangeHash,
    decisions_table,
    describe_change,
    digest_payload,
    digest_range,
    parse_time,
)
from safeguard.evidence.models import EvidenceRecord


def last_record(session: Session, action: str) -> EvidenceRecord | None:
    """The newest record with ``action``."""
    query = select(EvidenceRecord).where(EvidenceRecord.action == action)
    return session.execute(query.order_by(EvidenceRecord.seq.desc()).limit(1)).scalar_one_or_none()


def last_seq(session: Session, action: str) -> int | None:
    """The seq of the newest record with ``action`` (re-read under the lock before appending)."""
    record = last_record(session, action)
    return record.seq if record is not None else None


def _first_created(session: Session, after: datetime | None) -> datetime | None:
    column = decisions_table().c.created_at
    query = select(func.min(column))
    if after is not None:
        query = query.where(column >= after)
    value = session.execute(query).scalar()
    return None if value is None else aware(value)


def plan_digests(session: Session, settings: Settings, now: datetime) -> tuple[int | None, list[dict]]:
    """The ``decision_digest`` payloads due at ``now`` (rows older than the grace period), and the
    seq of the digest they follow."""
    audit = settings.audit
    last = last_record(session, DIGEST_ACTION)
    start = parse_time(json.loads(last.payload)["to"]) if last is not None and last.payload else None
    if last is not None and start is None:
        return last.seq, []
    cutoff = now - timedelta(seconds=audit.decision_grace_seconds)
    window = timedelta(seconds=audit.decision_window_seconds)
    columns = [c.name for c in decisions_table().columns]
    payloads: list[dict] = []
    while len(payloads) < audit.max_digests_per_run and (start is None or start < cutoff):
        if start is None:
            oldest = _first_created(session, None)
            end = cutoff if oldest is None else min(cutoff, oldest + window)
        else:
            end = min(cutoff, start + window)
        digest, _ = digest_range(session, columns, start, end)
        if digest.rows == 0 and start is not None:
            following = _first_created(session, end)
            if following is not None and following < cutoff:
                end = following
            elif cutoff - start < window:
                break
            else:
                end = cutoff
        payloads.append(digest_payload(start, end, digest, columns))
        start = end
    return (last.seq if last is not None else None), payloads


def append_digests(session: Session, after_seq: int | None, payloads: list[dict], actor: str) -> list[int]:
    """Append the planned digests under the head lock; none if another process sealed meanwhile."""
    if not payloads:
        return []
    chain.lock_head(session)
    if last_seq(session, DIGEST_ACTION) != after_seq:
        return []
    return [
        chain.append(session, kind="audit", action=DIGEST_ACTION, actor=actor, payload=payload).seq
        for payload in payloads
    ]


@dataclass(slots=True)
class PurgePlan:
    """What a decision purge at ``cutoff`` will cut, checked before anything is deleted."""

    purge_seq: int | None
    cutoff: datetime
    resealed: dict | None = None
    changed: list[dict] = field(default_factory=list)
    first_live_digest_seq: int | None = None


def _live_ledger(session: Session) -> DecisionLedger:
    """The ranges not yet wholly purged, with what the last purge did to them."""
    ledger = DecisionLedger()
    purge = last_record(session, PURGE_ACTION)
    purge_payload = json.loads(purge.payload) if purge is not None and purge.payload else None
    query = select(EvidenceRecord).where(EvidenceRecord.action == DIGEST_ACTION)
    if purge is not None:
        first_live = (purge_payload or {}).get("first_live_digest_seq")
        query = query.where(EvidenceRecord.seq >= (first_live if first_live is not None else purge.seq))
    for record in session.execute(query.order_by(EvidenceRecord.seq)).scalars():
        if record.payload:
            ledger.add_digest(record.seq, json.loads(record.payload))
    if purge is not None and purge_payload is not None:
        ledger.add_purge(purge.seq, purge_payload)
    return ledger


def plan_purge(session: Session, settings: Settings, now: datetime) -> PurgePlan:
    """Check every range the decision retention cutoff at ``now`` reaches, and reseal the one it cuts."""
    cutoff = now - timedelta(days=settings.retention.decisions_days)
    plan = PurgePlan(last_seq(session, PURGE_ACTION), cutoff)
    ledger = _live_ledger(session)
    present = {column.name for column in decisions_table().columns}
    for item in ledger.live():
        if item.start is not None and item.start >= cutoff:
            plan.first_live_digest_seq = item.seq
            break
        split = cutoff if item.end > cutoff else None
        gone = [name for name in item.columns if name not in present]
        if gone:
            problem = f"the table no longer has column(s) {', '.join(gone)}"
            plan.changed.append({"digest_seq": item.seq, "problem": problem})
            if split is not None:
                plan.first_live_digest_seq = item.seq
                break
            continue
        whole, tail = digest_range(session, item.columns, item.live_start, item.end, split)
        change = item.problem or describe_change(item.rows, item.sha256, whole)
        if change is not None:
            plan.changed.append({"digest_seq": item.seq, "problem": change})
        if tail is not None:
            plan.resealed = _reseal(item.seq, cutoff, item.end, tail)
            plan.first_live_digest_seq = item.seq
            break
    return plan


def _reseal(seq: int, start: datetime, end: datetime, digest: RangeHash) -> dict:
    return {
        "digest_seq": seq,
        "from": iso_utc(start),
        "to": iso_utc(end),
        "rows": digest.rows,
        "sha256": digest.hexdigest(),
    }


def record_purge(
    session: Session, plan: PurgePlan, deleted: int, retention_days: int, actor: str
) -> EvidenceRecord | None:
    """Append the ``decisions_purged`` record (the caller holds the head lock and commits); none
    when nothing was deleted and nothing found changed (the ranges' digests still hold)."""
    if deleted == 0 and not plan.changed:
        return None
    return chain.append(
        session,
        kind="audit",
        action=PURGE_ACTION,
        actor=actor,
        payload={
            "table": TABLE,
            "before": iso_utc(plan.cutoff),
            "rows": deleted,
            "retention_days": retention_days,
            "resealed": plan.resealed,
            "changed": plan.changed,
            "first_live_digest_seq": plan.first_live_digest_seq,
        },
    )
