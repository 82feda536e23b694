"""What a reviewer reads of one account: its cases, the children it contacted, its
risk reasons, its media matches and the accounts that sent the same script (one
offender, or one ring, as one picture)."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from safeguard.accounts.models import Account, AccountMediaMatch, AccountRiskScore
from safeguard.cases.models import CaseRow
from safeguard.cases.views import case_dict, contacts_with_children
from safeguard.config import Settings
from safeguard.evidence import chain
from safeguard.linking.service import linked_accounts

MAX_CASES = 200
MAX_MATCHES = 200


def account_view(session: Session, settings: Settings, account_id: str, *, actor: str) -> dict:
    """The account page's content; the view is audited (``view_account``)."""
    account = session.get(Account, account_id)
    cases = [
        case_dict(c)
        for c in session.execute(
            select(CaseRow)
            .where(CaseRow.subject_account_id == account_id)
            .order_by(CaseRow.created_at.desc())
            .limit(MAX_CASES)
        ).scalars()
    ]
    score = session.get(AccountRiskScore, account_id)
    try:
        reasons = json.loads(score.reasons) if score is not None else []
    except ValueError:
        reasons = []
    matches = [
        {"bank": m.bank, "entry_id": m.entry_id, "category": m.category, "at": m.at.isoformat()}
        for m in session.execute(
            select(AccountMediaMatch)
            .where(AccountMediaMatch.account_id == account_id)
            .order_by(AccountMediaMatch.at.desc())
            .limit(MAX_MATCHES)
        ).scalars()
    ]
    chain.append(
        session,
        kind="audit",
        action="view_account",
        actor=actor,
        case_id=None,
        payload={"account": account_id},
    )
    return {
        "account_id": account_id,
        "known": account is not None,
        "age_band": account.age_band if account is not None else "unknown",
        "age_assurance": account.age_assurance if account is not None else None,
        "risk": round(float(score.risk), 4) if score is not None else 0.0,
        "reasons": reasons if isinstance(reasons, list) else [],
        "cases": cases,
        "open_cases": sum(1 for c in cases if c["status"] == "open"),
        "contacts": contacts_with_children(session, settings, account_id),
        "media_matches": matches,
        "linked_accounts": linked_accounts(session, account_id),
    }
