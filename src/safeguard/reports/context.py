"""The facts about a case that every report needs, read once from the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from safeguard.accounts.models import Account
from safeguard.cases import service as cases
from safeguard.cases.models import CaseRow
from safeguard.config import Settings
from safeguard.evidence import chain
from safeguard.policy.rules import is_minor
from safeguard.policy.types import Party


@dataclass(slots=True)
class ReportContext:
    """A case, its evidence and what is known about the accounts in it."""

    case: CaseRow
    evidence: list[dict]
    signals: list[dict]
    media: list[dict]
    parties: dict[str, Party]
    minors: list[str]
    revealed_items: set[int] = field(default_factory=set)
    incident_at: datetime | None = None

    @property
    def is_media(self) -> bool:
        """True when the case is about known-abuse media."""
        return bool(self.media) or "media_match" in (self.case.categories or [])


def load(session: Session, settings: Settings, case_id: str, *, actor: str, report: str) -> ReportContext:
    """Gather a case for a report; exporting is audited like any view of evidence."""
    case = cases.get_case(session, settings, case_id)
    if case.purged_at is not None:
        from safeguard.errors import InputError

        raise InputError("this case's evidence has been purged", field="case_id")
    records = chain.records_for_case(session, case.id)
    evidence = [
        {"seq": r.seq, "action": r.action, "at": r.at, "payload": chain.payload_of(r)}
        for r in records
        if r.kind == "evidence"
    ]
    revealed = {
        int((chain.payload_of(r) or {}).get("item", -1)) for r in records if r.action == "reveal_media"
    }
    ids = [case.subject_account_id, *(case.recipient_ids or [])]
    rows = session.execute(
        select(Account.id, Account.age_band, Account.age_assurance).where(Account.id.in_(ids))
    ).all()
    known = {r.id: Party(r.id, r.age_band, r.age_assurance) for r in rows}
    parties = {i: known.get(i, Party(i)) for i in ids}
    minors = [i for i in case.recipient_ids or [] if is_minor(parties[i], settings.policy)]
    cases.audit(session, actor, "export_report", case.id, {"report": report})
    return ReportContext(
        case=case,
        evidence=evidence,
        signals=cases.signals_of(evidence),
        media=cases.media_of(evidence),
        parties=parties,
        minors=minors,
        revealed_items=revealed,
        incident_at=cases.aware(case.created_at),
    )
