"""Evidence retention: keep case evidence for a period, honour legal holds, purge the rest.

A case's evidence is kept for ``days`` (default: ``retention.escalations_days``,
one year, the REPORT Act preservation period) after the case was reported to
NCMEC or the NCA, or, if never reported, after it was decided. Open cases and
cases under legal hold are never purged. Purging erases the payloads of the
case's evidence records (the chain keeps their digests), strips the case row
to the statistics it feeds, deletes the escalation rows behind it, and appends
a ``purge`` record naming everything it removed (with each case's state
then, so the chain still tells what the row must hold). A case whose row no
longer matches the chain (a changed decision date or legal hold would move
its retention clock) is refused and listed instead of purged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from safeguard.cases.models import CaseEscalation, CaseRow
from safeguard.config import Settings
from safeguard.core.clock import aware, utcnow
from safeguard.evidence import case_state, chain
from safeguard.evidence.models import EvidenceRecord
from safeguard.policy.models import EscalationRow


@dataclass(slots=True)
class PurgeResult:
    """What a purge removed (or would remove, in a dry run)."""

    case_ids: list[str] = field(default_factory=list)
    erased_seqs: list[int] = field(default_factory=list)
    escalations_deleted: int = 0
    held: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {
            "case_ids": self.case_ids,
            "erased_seqs": self.erased_seqs,
            "escalations_deleted": self.escalations_deleted,
            "held": self.held,
            "refused": self.refused,
            "dry_run": self.dry_run,
        }


def retain_until(case: CaseRow, days: int) -> datetime | None:
    """When the case's evidence may be purged; None while the case is open."""
    start = aware(case.reported_at) or aware(case.decided_at)
    if case.status == "open" or start is None:
        return None
    return start + timedelta(days=days)


def purge(
    session: Session,
    settings: Settings,
    *,
    now: datetime | None = None,
    days: int | None = None,
    dry_run: bool = False,
    actor: str = "system",
) -> PurgeResult:
    """Purge the evidence of every case past its retention period (the caller commits)."""
    now = now or utcnow()
    days = days if days is not None else settings.retention.escalations_days
    result = PurgeResult(dry_run=dry_run)
    cases = session.execute(
        select(CaseRow).where(CaseRow.status != "open", CaseRow.purged_at.is_(None))
    ).scalars()
    due: list[CaseRow] = []
    for case in cases:
        until = retain_until(case, days)
        if until is None or until > now:
            continue
        if case.legal_hold:
            result.held.append(case.id)
            continue
        mismatch = _row_disagrees(session, case)
        if mismatch is not None:
            result.refused[case.id] = mismatch
            continue
        due.append(case)
    for case in due:
        result.case_ids.append(case.id)
        records = session.execute(
            select(EvidenceRecord).where(
                EvidenceRecord.case_id == case.id,
                EvidenceRecord.kind == "evidence",
                EvidenceRecord.payload.is_not(None),
            )
        ).scalars()
        escalation_ids = list(
            session.execute(
                select(CaseEscalation.escalation_id).where(CaseEscalation.case_id == case.id)
            ).scalars()
        )
        for record in records:
            result.erased_seqs.append(record.seq)
            if not dry_run:
                record.payload = None
                record.purged = True
        if escalation_ids:
            if dry_run:
                result.escalations_deleted += len(escalation_ids)
            else:
                result.escalations_deleted += int(
                    session.execute(
                        delete(EscalationRow).where(EscalationRow.id.in_(escalation_ids))
                    ).rowcount
                    or 0
                )
        if not dry_run:
            case.purged_at = now
            case.subject_account_id = "purged"
            case.reporter_id = None
            case.details = None
            case.recipient_ids = []
            case.conversation_id = None
            case.message_id = None
            case.actions = [{"decision": a.get("decision"), "at": a.get("at")} for a in case.actions or []]
    if not dry_run and result.case_ids:
        session.flush()
        states = {case.id: case_state.row_state(case) for case in due}
        chain.append(
            session,
            kind="audit",
            action="purge",
            actor=actor,
            payload={
                "case_ids": result.case_ids,
                "erased_seqs": sorted(result.erased_seqs),
                "escalations_deleted": result.escalations_deleted,
                "retention_days": days,
                "states": states,
            },
        )
    return result


def _row_disagrees(session: Session, case: CaseRow) -> str | None:
    """Why the case row does not match its chain records (it is then not purged), or None."""
    trail = case_state.trail_for(case.id, chain.records_for_case(session, case.id))
    diffs = case_state.differences(trail, case)
    if not diffs:
        return None
    return "the row does not match the chain: " + case_state.describe(case.id, diffs)
