"""Take next (issue 18): the top case nobody else holds, claimed atomically, leased,
and returned to the queue when the lease runs out."""

from __future__ import annotations

from datetime import timedelta

from case_support import Harness
from sqlalchemy.orm import Session

from safeguard.cases import service as cases
from safeguard.cases.models import CaseRow
from safeguard.cases.take_next import claim, take_next
from safeguard.core.clock import utcnow
from safeguard.store.db import get_engine, session_scope


def test_two_sessions_never_claim_the_same_case(harness: Harness) -> None:
    case_id = harness.grooming_case()
    now = utcnow()
    until = now + timedelta(minutes=30)
    engine = get_engine(harness.url)
    with Session(engine) as first, Session(engine) as second:
        assert claim(first, case_id, "rev", now, until)
        first.commit()
        assert not claim(second, case_id, "rev2", now, until)
        second.commit()
    with session_scope(harness.url) as session:
        case = session.get(CaseRow, case_id)
        assert case is not None and case.assignee == "rev" and case.lease_until is not None


def test_take_next_skips_held_cases_and_expired_leases_return(lite: Harness) -> None:
    top = lite.grooming_case("conv-a")
    other = lite.grooming_case("conv-b", child="child-2", adult="adult-2")
    with session_scope(lite.url) as session:
        first = take_next(session, lite.settings, reviewer="rev", actor="console:rev")
    with session_scope(lite.url) as session:
        second = take_next(session, lite.settings, reviewer="rev2", actor="console:rev2")
        third = take_next(session, lite.settings, reviewer="rev3", actor="console:rev3")
    assert {first, second} == {top, other} and third is None
    later = utcnow() + timedelta(minutes=lite.settings.cases.lease_minutes + 1)
    with session_scope(lite.url) as session:
        assert take_next(session, lite.settings, reviewer="rev3", actor="console:rev3", now=later) == first
    with session_scope(lite.url) as session:
        cases.decide(session, lite.settings, second, decision="dismiss", actor="console:rev2")
    with session_scope(lite.url) as session:
        decided = session.get(CaseRow, second)
        assert decided is not None and decided.lease_until is None
