"""Take next: hand a reviewer the top case of the priority order that nobody else holds.

The case is claimed with one conditional ``UPDATE ... WHERE`` (still open, and unassigned,
already the reviewer's, or its lease run out), so two reviewers asking at once never get
the same case: the one whose update changed no row moves on to the next candidate.
The claim sets a lease (``[cases] lease_minutes``); deciding clears it
(``service.decide``) and an expired lease returns the case to the queue
(``queue.visible_to_reviewer``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import DateTime, and_, literal, or_, update
from sqlalchemy.orm import Session

from safeguard.cases.models import CaseRow
from safeguard.cases.queue import QueueFilters, queue
from safeguard.config import Settings
from safeguard.core.clock import utcnow
from safeguard.evidence import chain

CANDIDATES = 20


def claim(session: Session, case_id: str, reviewer: str, now: datetime, until: datetime) -> bool:
    """Assign ``case_id`` to ``reviewer`` until ``until`` if nobody else holds it; True on success."""
    at = literal(now, DateTime(timezone=True))
    result = session.execute(
        update(CaseRow)
        .where(
            CaseRow.id == case_id,
            CaseRow.status == "open",
            or_(
                CaseRow.assignee.is_(None),
                CaseRow.assignee == reviewer,
                and_(CaseRow.lease_until.is_not(None), CaseRow.lease_until < at),
            ),
        )
        .values(assignee=reviewer, lease_until=until)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def take_next(
    session: Session, settings: Settings, *, reviewer: str, actor: str, now: datetime | None = None
) -> str | None:
    """The id of the case handed to ``reviewer`` (assigned, leased, audited), or None when
    every open case is held by someone else."""
    now = now or utcnow()
    until = now + timedelta(minutes=settings.cases.lease_minutes)
    filters = QueueFilters(status="open", sort="priority", limit=CANDIDATES)
    items, _total = queue(session, settings, filters, visible_to=reviewer, now=now)
    for item in items:
        if claim(session, item.case.id, reviewer, now, until):
            chain.append(
                session,
                kind="audit",
                action="case_taken",
                actor=actor,
                case_id=item.case.id,
                payload={"assignee": reviewer, "lease_until": until.isoformat()},
            )
            return item.case.id
    return None
