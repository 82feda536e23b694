"""Decisions in the console (issue 18): ban, suspend and reports need a confirm page and
a note (enforced on the server), and every decision stays in the case's history."""

from __future__ import annotations

import re

from web_support import Harness, csrf, login

from safeguard.cases.models import CaseRow
from safeguard.core.clock import utcnow
from safeguard.store.db import session_scope
from safeguard.web.decisions import needs_confirmation


def test_which_decisions_need_confirmation() -> None:
    assert needs_confirmation({"decision": "ban"})
    assert needs_confirmation({"decision": "suspend", "confirm": "yes", "note": "  "})
    assert needs_confirmation({"decision": "report_nca", "note": "why"})
    assert not needs_confirmation({"decision": "ban", "confirm": "yes", "note": "why"})
    assert not needs_confirmation({"decision": "dismiss"})
    assert not needs_confirmation({"decision": "warn"})


def test_a_ban_is_recorded_only_once_confirmed_with_a_note(console: Harness) -> None:
    case_id = console.grooming_case()
    client = login(console, "rev")
    token = csrf(client.get(f"/console/cases/{case_id}").text)
    url = f"/console/cases/{case_id}/decision"
    asked = client.post(url, data={"decision": "ban", "note": "first draft", "csrf_token": token})
    assert asked.status_code == 200 and 'name="confirm" value="yes"' in asked.text
    assert "first draft</textarea>" in asked.text
    no_note = client.post(url, data={"decision": "ban", "confirm": "yes", "csrf_token": token})
    assert "Write a note" in no_note.text
    with session_scope(console.url) as session:
        case = session.get(CaseRow, case_id)
        assert case is not None and case.decision is None and case.status == "open"
    done = client.post(
        url, data={"decision": "ban", "confirm": "yes", "note": "asked to meet", "csrf_token": token}
    )
    assert "Decision recorded." in done.text


def test_history_keeps_every_decision_and_deciding_clears_the_lease(console: Harness) -> None:
    case_id = console.grooming_case()
    with session_scope(console.url) as session:
        case = session.get(CaseRow, case_id)
        assert case is not None
        case.assignee, case.lease_until = "rev", utcnow()
    client = login(console, "rev")
    token = csrf(client.get(f"/console/cases/{case_id}").text)
    url = f"/console/cases/{case_id}/decision"
    client.post(url, data={"decision": "warn", "note": "first look", "csrf_token": token})
    page = client.post(
        url, data={"decision": "suspend", "confirm": "yes", "note": "on second look", "csrf_token": token}
    )
    entries = re.findall(
        r'<li class="decision-entry">.*?<strong>(\w+)</strong> by ([\w:]+): ([^<]+)</li>', page.text
    )
    assert entries == [("warn", "console:rev", "first look"), ("suspend", "console:rev", "on second look")]
    with session_scope(console.url) as session:
        case = session.get(CaseRow, case_id)
        assert case is not None and case.lease_until is None
        assert [a["decision"] for a in case.actions] == ["warn", "suspend"]


def test_case_page_shows_context_reasons_stage_and_chart_above_decisions(console: Harness) -> None:
    from safeguard.policy import context_window

    context_window.RING.clear()
    case_id = console.grooming_case(conv="ctx-1")
    client = login(console, "rev")
    page = client.get(f"/console/cases/{case_id}").text
    assert '<svg class="risk-chart"' in page and "<polyline" in page
    assert re.search(r'<li class="context-message flagged">\s*<span class="meta">adult-1', page)
    assert '<span class="text">i am 12</span>' in page  # the child's reply is shown
    assert 'class="reasons"' in page and "Stage:" in page
    assert page.index('class="context"') < page.index('class="media"') < page.index('class="actions"')


def test_a_closed_case_reopens_only_explicitly_with_a_reason(console: Harness) -> None:
    from safeguard.evidence.audit import audit

    case_id = console.grooming_case(conv="reopen-1")
    client = login(console, "rev")
    page = client.get(f"/console/cases/{case_id}").text
    assert 'class="reopen"' not in page  # an open case offers no re-open
    token = csrf(page)
    decided = client.post(
        f"/console/cases/{case_id}/decision", data={"decision": "dismiss", "csrf_token": token}
    )
    assert 'class="reopen"' in decided.text
    refused = client.post(f"/console/cases/{case_id}/reopen", data={"reason": " ", "csrf_token": token})
    assert refused.status_code == 400 and "say why" in refused.text
    reopened = client.post(
        f"/console/cases/{case_id}/reopen", data={"reason": "new report came in", "csrf_token": token}
    )
    assert "Case re-opened." in reopened.text and '<dd class="status">open</dd>' in reopened.text
    again = client.post(f"/console/cases/{case_id}/reopen", data={"reason": "x", "csrf_token": token})
    assert again.status_code == 400 and "only a closed case" in again.text
    with session_scope(console.url) as session:
        case = session.get(CaseRow, case_id)
        assert case is not None and case.status == "open"
        assert [(a["decision"], a["note"]) for a in case.actions] == [
            ("dismiss", None),
            ("reopened", "new report came in"),
        ]
        report = audit(session)
    assert report.ok, report.findings
