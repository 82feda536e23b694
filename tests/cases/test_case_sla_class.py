"""SLA classes are set when a case opens and kept the most urgent as it grows (issue 18)."""

from __future__ import annotations

from case_support import Harness, bank_benign_image
from sqlalchemy import select

from safeguard.cases import service as cases
from safeguard.cases.escalations import open_for_escalation, set_sla_class
from safeguard.cases.models import CaseRow
from safeguard.policy.models import EscalationRow
from safeguard.store.db import session_scope


def _case(**fields: object) -> CaseRow:
    base: dict = {"kind": "grooming", "source": "automated", "child_involved": False, "categories": []}
    base.update(fields)
    return CaseRow(id="c", subject_account_id="a", **base)


def test_a_new_case_gets_the_class_that_fits() -> None:
    danger = _case(child_involved=True, categories=["meeting"])
    set_sla_class(danger)
    contact = _case(child_involved=True, categories=["secrecy"])
    set_sla_class(contact)
    report = _case(kind="user_report", source="user_report")
    set_sla_class(report)
    assert (danger.sla_class, contact.sla_class, report.sla_class) == (
        "child_in_danger",
        "child_contact",
        "user_report",
    )


def test_an_escalation_of_priority_zero_is_a_child_in_danger() -> None:
    case = _case(categories=["secrecy"])
    set_sla_class(case, escalation_priority=0)
    assert case.sla_class == "child_in_danger"


def test_a_case_keeps_the_most_urgent_class_it_has_had() -> None:
    case = _case(child_involved=True, categories=["meeting"])
    set_sla_class(case)
    case.child_involved = False
    set_sla_class(case)
    assert case.sla_class == "child_in_danger"
    grown = _case()
    set_sla_class(grown)
    grown.child_involved = True
    set_sla_class(grown)
    assert grown.sla_class == "child_contact"


def test_escalations_reports_and_appeals_store_their_class(lite: Harness) -> None:
    case_id = lite.grooming_case()
    report = lite.report(
        reporter_id="adult-2", target_type="account", target_id="adult-1", reason="harassment"
    )
    with session_scope(lite.url) as session:
        row = EscalationRow(
            id="priority-zero",
            kind="message",
            subject_account_id="adult-9",
            recipient_ids=["adult-2"],
            conversation_id="conv-p0",
            message_id="p0-m1",
            risk=0.5,
            reasons=[],
            evidence={"signals": [{"category": "secrecy"}]},
            priority=0,
        )
        session.add(row)
        session.flush()
        open_for_escalation(session, lite.settings, row)
    with session_scope(lite.url) as session:
        classes = dict(session.execute(select(CaseRow.id, CaseRow.sla_class)).all())
        assert classes[case_id] == "child_in_danger"
        assert classes[report["case_id"]] == "user_report"
        assert classes["priority-zero"] == "child_in_danger"
        original = session.get(CaseRow, case_id)
        assert original is not None
        original.actions = [{"decision": "suspend"}]
    with session_scope(lite.url) as session:
        appeal = cases.open_appeal(
            session, lite.settings, account_id="adult-1", case_id=case_id, statement="not me"
        )
        assert appeal.sla_class == "appeal"


def test_known_media_is_a_child_in_danger_only_when_a_child_takes_part(lite: Harness) -> None:
    sha = bank_benign_image(lite.url)
    to_child = lite.media("adult-1", ["child-1"], sha, mid="img-child")["case_id"]
    between_adults = lite.media("adult-2", ["adult-1"], sha, mid="img-adults")["case_id"]
    with session_scope(lite.url) as session:
        classes = {case_id: session.get(CaseRow, case_id).sla_class for case_id in (to_child, between_adults)}
    assert classes == {to_child: "child_in_danger", between_adults: "known_abuse_media"}
