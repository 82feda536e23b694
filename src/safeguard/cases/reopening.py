"""Re-opening a closed case: only explicitly, with a reason, kept in the decision history."""

from __future__ import annotations

from sqlalchemy.orm import Session

from safeguard.cases.models import CaseRow
from safeguard.core.clock import utcnow
from safeguard.errors import InputError
from safeguard.evidence import chain


def reopen_case(session: Session, case: CaseRow, *, actor: str, reason: str) -> CaseRow:
    """Re-open a closed case, explicitly and with a reason; the decision history keeps it.

    Recorded as a ``decision`` record (``reopen``) carrying the state it sets, so the
    audit check replays the case as open again.
    """
    reason = (reason or "").strip()
    if not reason:
        raise InputError("say why the case is re-opened", field="reason")
    if case.status != "closed":
        raise InputError("only a closed case can be re-opened", field="case_id")
    if case.purged_at is not None:
        raise InputError("this case's evidence has been purged", field="case_id")
    entry = {"decision": "reopened", "by": actor, "at": utcnow().isoformat(), "note": reason}
    case.actions = [*(case.actions or []), entry]
    case.status = "open"
    case.decision = None
    chain.append(
        session,
        kind="evidence",
        action="decision",
        actor=actor,
        case_id=case.id,
        payload={"decision": "reopen", "note": reason, "state": {"status": "open", "decision": None}},
    )
    return case
