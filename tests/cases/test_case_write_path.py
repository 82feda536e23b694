"""Cases open on the write path and the queue ranks in SQL (issue 17).

- an escalation's case exists as soon as the message that escalated is answered,
  before anything reads the queue;
- reading the queue or a case opens nothing (no write on a read): an escalation
  left without a case waits for the upkeep task;
- the queue's SQL order, paging, count and filters are the priority order
  ``case_priority`` gives, on both backends.
"""

from __future__ import annotations

import random
from contextlib import nullcontext
from datetime import timedelta

from case_support import Harness
from sqlalchemy import func, insert, select

from safeguard.cases import service as cases
from safeguard.cases.models import CaseEscalation, CaseRow
from safeguard.cases.priority import base_priority
from safeguard.core.clock import aware, utcnow
from safeguard.evidence.models import EvidenceRecord
from safeguard.policy.models import EscalationRow
from safeguard.service.maintenance import Maintenance
from safeguard.store.db import get_sessionmaker, session_scope


def _count(url: str, model: type) -> int:
    with session_scope(url) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_an_escalation_opens_its_case_before_any_read(harness: Harness) -> None:
    case_id = harness.grooming_case()
    with session_scope(harness.url) as session:
        case = session.get(CaseRow, case_id)
        escalation = session.get(EscalationRow, case_id)
        assert case is not None and case.status == "open" and case.child_involved
        assert escalation is not None and escalation.status == "open"  # until its case is decided
        assert session.get(CaseEscalation, case_id) is not None
        assert case.priority_base == base_priority(
            risk=case.risk, child_involved=True, categories=case.categories
        )


def test_reading_the_queue_opens_no_case(harness: Harness) -> None:
    with session_scope(harness.url) as session:
        session.add(
            EscalationRow(
                id="left-without-a-case",
                kind="message",
                subject_account_id="adult-1",
                recipient_ids=["child-1"],
                conversation_id="elsewhere",
                message_id="m1",
                risk=0.9,
                reasons=[],
                evidence={"signals": [{"category": "meeting"}]},
                status="open",
                created_at=utcnow(),
            )
        )
    records = _count(harness.url, EvidenceRecord)
    queue = harness.client.get("/v1/cases", headers=harness.auth("review"))
    assert queue.status_code == 200 and queue.json()["total"] == 0
    missing = harness.client.get("/v1/cases/left-without-a-case", headers=harness.auth("review"))
    assert missing.status_code == 404
    assert _count(harness.url, CaseRow) == 0 and _count(harness.url, EvidenceRecord) == records
    maintenance = Maintenance(get_sessionmaker(harness.url), harness.settings, nullcontext)
    assert maintenance.open_cases() == 1
    listed = harness.client.get("/v1/cases", headers=harness.auth("review")).json()
    assert [c["id"] for c in listed["cases"]] == ["left-without-a-case"]


def _fill(url: str, count: int) -> None:
    rng = random.Random(5)
    now = utcnow()
    categories = ["secrecy", "platform_move", "meeting", "coercion", "media_match", "flattery"]
    rows = []
    for i in range(count):
        cats = sorted(rng.sample(categories, rng.randint(0, 2)))
        risk, child = round(rng.random(), 2), rng.random() < 0.5
        rows.append(
            {
                "id": f"c{i:04d}",
                "kind": ("grooming", "media_match", "user_report")[i % 3],
                "source": "automated",
                "status": "open" if i % 7 else "closed",
                "subject_account_id": f"a{i}",
                "recipient_ids": [],
                "surface": "dm",
                "child_involved": child,
                "risk": risk,
                "categories": cats,
                "priority_base": base_priority(risk=risk, child_involved=child, categories=cats),
                "actions": [],
                "legal_hold": False,
                # some cases share a creation time: the order then falls to the id
                "created_at": now - timedelta(minutes=rng.randrange(0, 60 * 24 * 5, 7)),
            }
        )
    with session_scope(url) as session:
        session.execute(insert(CaseRow), rows)


def _expected(url: str, filters: cases.QueueFilters, now) -> tuple[list[str], int]:  # type: ignore[no-untyped-def]
    """The queue as the Python priority order gives it (what the queue did before)."""
    with session_scope(url) as session:
        rows = list(session.execute(select(CaseRow)).scalars())
    if filters.status:
        rows = [r for r in rows if r.status == filters.status]
    if filters.kind:
        rows = [r for r in rows if r.kind == filters.kind]
    if filters.category:
        rows = [r for r in rows if filters.category in (r.categories or [])]
    rows.sort(key=lambda r: (-cases.case_priority(r, now), aware(r.created_at), r.id))
    return [r.id for r in rows[filters.offset : filters.offset + filters.limit]], len(rows)


def test_the_queue_ranks_filters_and_pages_in_sql_as_the_priority_says(harness: Harness) -> None:
    _fill(harness.url, 400)
    now = utcnow()
    for filters in (
        cases.QueueFilters(limit=25),
        cases.QueueFilters(limit=25, offset=150),
        cases.QueueFilters(limit=500, status=None),
        cases.QueueFilters(limit=40, category="coercion"),
        cases.QueueFilters(limit=40, kind="media_match", category="media_match", offset=3),
    ):
        with session_scope(harness.url) as session:
            items, total = cases.queue(session, harness.settings, filters, now=now)
            got = [i.case.id for i in items]
            priorities = [i.priority for i in items]
        expected, expected_total = _expected(harness.url, filters, now)
        assert (got, total) == (expected, expected_total), filters
        assert priorities == sorted(priorities, reverse=True)
