"""Moderator console flows in a real browser (Playwright driving Debian's Chromium, issue 18):
take next -> context -> confirmed decisions -> history; appeals by a second reviewer; media
reveal audited on every path; the queue in SLA order; the account page. Cases are made through
the service (an adult messaging child accounts, a benign photo banked as known media).

With ``SAFEGUARD_SCREENSHOTS=docs/img`` the tests also save the console's screenshots
(queue.png, case.png, account.png, status.png); without it they write nothing."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from web_support import (
    CHROMIUM_ARGS,
    PASSWORDS,
    Harness,
    bank_benign_image,
    chromium_executable,
    serve_console,
)

from safeguard.cases.models import CaseRow
from safeguard.cases.sla import sla_state
from safeguard.evidence import chain
from safeguard.evidence.models import EvidenceRecord
from safeguard.policy import context_window
from safeguard.store.db import session_scope

ROOT = Path(__file__).resolve().parents[2]
VIEWPORT = {"width": 1280, "height": 800}
ADULT, CHILD = "adult-1", "child-1"
# An adult account grooming a child account; the first three messages fall outside the window.
CHAT = [
    (ADULT, "hey what games do you play"),
    (CHILD, "minecraft mostly"),
    (ADULT, "how old are you"),
    (CHILD, "i am 12"),
    (ADULT, "add me on snap, it is our secret"),
    (CHILD, "ok"),
    (ADULT, "let's meet up after school"),
    (CHILD, "where"),
]


@pytest.fixture
def browser(console: Harness) -> Iterator[tuple[Any, str, Harness]]:
    """Chromium, plus the console served on loopback."""
    from playwright.sync_api import sync_playwright

    executable = chromium_executable()
    context_window.RING.clear()
    with serve_console(console) as base, sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium, base, console
        finally:
            chromium.close()


def _login(chromium: Any, base: str, username: str) -> Any:
    page = chromium.new_context(viewport=VIEWPORT).new_page()
    page.goto(f"{base}/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORDS[username])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/console")
    return page


def _screenshot(page: Any, name: str) -> None:
    """Save a full-page screenshot into $SAFEGUARD_SCREENSHOTS (relative to the repo) when set."""
    target = os.environ.get("SAFEGUARD_SCREENSHOTS")
    if not target:
        return
    folder = Path(target) if Path(target).is_absolute() else ROOT / target
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=True)
    assert (folder / name).stat().st_size > 10_000


def _chat(console: Harness, conv: str, chat: list[tuple[str, str]] = CHAT) -> str:
    """Send ``chat`` through the service; the case the conversation escalated into."""
    case_id = None
    for i, (sender, text) in enumerate(chat, 1):
        recipient = CHILD if sender != CHILD else ADULT
        answer = console.message(sender, [recipient], text, mid=f"{conv}-m{i}", conv=conv)
        case_id = case_id or answer.get("case_id")
    assert case_id, "the conversation did not escalate"
    return case_id


def _records(console: Harness, case_id: str, action: str) -> list[tuple[str, dict]]:
    with session_scope(console.url) as session:
        rows = session.execute(
            select(EvidenceRecord)
            .where(EvidenceRecord.case_id == case_id, EvidenceRecord.action == action)
            .order_by(EvidenceRecord.seq)
        ).scalars()
        return [(r.actor, chain.payload_of(r) or {}) for r in rows]


def _case(console: Harness, case_id: str) -> CaseRow:
    with session_scope(console.url) as session:
        case = session.get(CaseRow, case_id)
        assert case is not None
        session.expunge(case)
        return case


def _decide(page: Any, decision: str, note: str) -> None:
    """Click a decision that needs confirmation, then confirm it on its own page with a note."""
    page.click(f"form.decide button.d-{decision}")
    page.wait_for_selector("form.confirm")
    assert page.inner_text("h1") == f"Confirm: {decision.replace('_', ' ')}"
    box = page.locator("form.confirm textarea[name=note]")
    assert box.input_value() == "" and box.evaluate("e => e.required")
    box.fill(note)
    page.click(f"form.confirm button.d-{decision}")
    page.wait_for_selector("p.flash")
    assert page.inner_text("p.flash") == "Decision recorded."


def test_take_next_context_confirmed_decisions_and_history(browser: tuple[Any, str, Harness]) -> None:
    chromium, base, console = browser
    case_id = _chat(console, "flow-1")
    page = _login(chromium, base, "rev")
    page.click("form.take-next button")
    page.wait_for_url(f"{base}/console/cases/{case_id}")
    assert page.inner_text("dt:text-is('Assignee') + dd") == "rev" == _case(console, case_id).assignee

    window = page.locator("ol.context-window li.context-message")
    texts = [window.nth(i).locator("span.text").inner_text() for i in range(window.count())]
    senders = {window.nth(i).locator("span.meta").inner_text().split()[0] for i in range(window.count())}
    assert texts == [text for _sender, text in CHAT[3:]]  # 3 either side of the flagged ones
    assert senders == {ADULT, CHILD}
    flagged = page.locator("ol.context-window li.context-message.flagged span.text")
    assert "let's meet up after school" in flagged.all_inner_texts()
    assert page.locator("svg.risk-chart circle.flag").count() == flagged.count()
    assert page.inner_text("p.stage") == "Stage: meeting_compliance"
    reasons = page.inner_text("ul.reasons")
    assert "grooming_risk_escalate" in reasons and ">= escalation threshold 0.85" in reasons

    assert page.inner_text("section.history").endswith("No decision yet.")
    _decide(page, "ban", "arranged to meet a 12 year old")
    assert _case(console, case_id).decision == "ban"
    _decide(page, "report_ncmec", "enticement: reported")

    entries = page.locator("ol.decisions li.decision-entry").all_inner_texts()
    assert [re.sub(r"^\S+ ", "", e) for e in entries] == [
        "ban by console:rev: arranged to meet a 12 year old",
        "report_ncmec by console:rev: enticement: reported",
    ]
    assert page.inner_text("dd.status") == "closed: report_ncmec"
    stored = _case(console, case_id)
    assert [(a["decision"], a["by"]) for a in stored.actions] == [
        ("ban", "console:rev"),
        ("report_ncmec", "console:rev"),
    ]
    assert [p["decision"] for _actor, p in _records(console, case_id, "decision")] == ["ban", "report_ncmec"]
    _screenshot(page, "case.png")


def test_an_appeal_is_decided_by_a_second_reviewer(browser: tuple[Any, str, Harness]) -> None:
    chromium, base, console = browser
    original = _chat(console, "flow-2")
    rev = _login(chromium, base, "rev")
    rev.goto(f"{base}/console/cases/{original}")
    _decide(rev, "ban", "arranged to meet a child")
    appeal = console.client.post(
        "/v1/appeals",
        json={"account_id": ADULT, "case_id": original, "statement": "I was helping with homework"},
        headers=console.auth(),
    )
    assert appeal.status_code == 201, appeal.text
    appeal_id = appeal.json()["case_id"]

    rev.goto(f"{base}/console?kind=appeal")
    rev.click(f"a.case-link:text('{appeal_id[:12]}')")
    rev.wait_for_url(f"{base}/console/cases/{appeal_id}")
    assert rev.inner_text("p.appeal") == f"Appeal of case {original[:12]} (decision: ban)."
    window = rev.locator("ol.context-window span.text").all_inner_texts()
    assert "let's meet up after school" in window and "i am 12" in window  # the original evidence
    assert [b.inner_text() for b in rev.locator("form.decide button").all()] == ["uphold", "overturn"]
    rev.click("form.decide button.d-overturn")
    assert "a reviewer other than the one who decided the case" in rev.inner_text("main")
    assert _case(console, appeal_id).status == "open"
    assert _records(console, appeal_id, "decision") == []

    rev2 = _login(chromium, base, "rev2")
    rev2.goto(f"{base}/console/cases/{appeal_id}")
    rev2.fill("form.decide input[name=note]", "helping with homework is plausible")
    rev2.click("form.decide button.d-overturn")
    rev2.wait_for_selector("p.flash")
    assert rev2.inner_text("dd.status") == "closed: overturn"
    rev2.click("p.appeal a")
    rev2.wait_for_url(f"{base}/console/cases/{original}")
    entries = rev2.locator("ol.decisions li.decision-entry").all_inner_texts()
    assert [re.sub(r"^\S+ ", "", e) for e in entries] == [
        "ban by console:rev: arranged to meet a child",
        f"overturned by console:rev2: appeal {appeal_id}",
    ]
    assert _case(console, original).decision == "overturned"


def test_the_appeal_page_shows_the_appellants_statement(browser: tuple[Any, str, Harness]) -> None:
    chromium, base, console = browser
    original = _chat(console, "flow-2b")
    rev = _login(chromium, base, "rev")
    rev.goto(f"{base}/console/cases/{original}")
    _decide(rev, "suspend", "arranged to meet a child")
    appeal = console.client.post(
        "/v1/appeals",
        json={"account_id": ADULT, "case_id": original, "statement": "I was helping with homework"},
        headers=console.auth(),
    ).json()["case_id"]
    rev2 = _login(chromium, base, "rev2")
    rev2.goto(f"{base}/console/cases/{appeal}")
    page = rev2.inner_text("main")
    assert "I was helping with homework" in rev2.inner_text("blockquote.appeal-statement")
    assert "Report reason" not in page
    # The original evidence: its marked messages and its stage, not the appeal's empty record.
    assert rev2.locator("ol.messages mark.excerpt").count() >= 1
    assert "Stage:" in page


def _filter(page: Any) -> str:
    return page.locator("figure.media-item img").evaluate("e => getComputedStyle(e).filter")


def test_media_reveal_is_audited_on_every_path(browser: tuple[Any, str, Harness]) -> None:
    chromium, base, console = browser
    sha = bank_benign_image(console.url)
    case_id = console.media("adult-2", ["child-2"], sha, mid="img-flow-3")["case_id"]
    rev = _login(chromium, base, "rev")

    for url in (
        f"/console/cases/{case_id}?revealed=1",
        f"/console/cases/{case_id}?revealed=1&item=0#media-0",
    ):
        rev.goto(base + url)
        rev.locator("figure.media-item.concealed img").wait_for()
        assert "blur" in _filter(rev) and "grayscale" in _filter(rev)
    assert rev.request.get(f"{base}/console/cases/{case_id}/reveal?item=0").status == 405
    forged = rev.request.post(f"{base}/console/cases/{case_id}/reveal", form={"item": "0"})
    assert forged.status == 403
    assert _records(console, case_id, "reveal_media") == []
    assert len(_records(console, case_id, "view_case")) == 2

    rev.click("button.reveal")
    rev.wait_for_selector("figure.media-item.revealed")
    assert _filter(rev) == "none"
    assert rev.locator("figure.media-item img").evaluate("e => e.naturalWidth") > 0
    assert rev.inner_text("p.flash") == "Media item revealed (recorded in the audit log)."
    assert _records(console, case_id, "reveal_media") == [("console:rev", {"item": 0})]

    rev2 = _login(chromium, base, "rev2")  # another reviewer has not revealed it
    rev2.goto(f"{base}/console/cases/{case_id}?revealed=1")
    assert rev2.locator("figure.media-item.concealed").count() == 1 and "blur" in _filter(rev2)
    rev.click("form.logout button")  # log out: a reveal lasts one login session only
    rev.wait_for_url(f"{base}/console/login")
    again = _login(chromium, base, "rev")
    again.goto(f"{base}/console/cases/{case_id}")
    assert again.locator("figure.media-item.concealed").count() == 1 and "blur" in _filter(again)
    assert [actor for actor, _p in _records(console, case_id, "reveal_media")] == ["console:rev"]


def test_queue_sorted_by_sla(browser: tuple[Any, str, Harness]) -> None:
    chromium, base, console = browser
    console.account("adult-3", "adult")
    grooming = _chat(console, "flow-4")  # a child in danger: first decision due within 15 min
    media = console.media("adult-2", [], bank_benign_image(console.url), mid="img-flow-4")["case_id"]
    fresh = console.report(reporter_id="adult-3", target_type="account", target_id=ADULT, reason="harassment")
    old = console.report(
        reporter_id="adult-3", target_type="account", target_id="adult-2", reason="harassment"
    )
    with session_scope(console.url) as session:  # a report that has waited 23 h 50 min of its 24 h
        row = session.get(CaseRow, old["case_id"])
        assert row is not None
        row.created_at = datetime.now(UTC) - timedelta(hours=23, minutes=50)

    page = _login(chromium, base, "rev")
    by_priority = page.locator("a.case-link").all_inner_texts()
    page.goto(f"{base}/console?sort=sla")
    assert page.locator("select[name=sort] option:checked").inner_text() == "SLA time left"
    by_sla = page.locator("a.case-link").all_inner_texts()

    now = datetime.now(UTC)
    with session_scope(console.url) as session:
        rows = session.execute(select(CaseRow).where(CaseRow.status == "open")).scalars().all()
        classes = {r.id[:12]: r.sla_class for r in rows}
        due = {
            r.id[:12]: sla_state(
                console.settings.cases.sla,
                sla_class=r.sla_class,
                created_at=r.created_at,
                decided_at=None,
                now=now,
            ).due_at
            for r in rows
        }
    assert by_sla == sorted(due, key=due.__getitem__)
    # A bank match with no child taking part is known_abuse_media (4 h); sent to a child it
    # would be "a child in danger" (15 min).
    assert by_sla == [old["case_id"][:12], grooming[:12], media[:12], fresh["case_id"][:12]]
    assert [classes[c] for c in by_sla] == [
        "user_report",
        "child_in_danger",
        "known_abuse_media",
        "user_report",
    ]
    assert by_priority == [grooming[:12], media[:12], old["case_id"][:12], fresh["case_id"][:12]]
    cells = page.locator("table.queue td.sla").all_inner_texts()
    assert [c.split()[:2] for c in cells] == [["due", "in"]] * 4
    assert cells[0] in ("due in 9 min", "due in 10 min") and cells[1] in ("due in 14 min", "due in 15 min")
    _screenshot(page, "queue.png")


def test_account_page_shows_cases_and_children_contacted(browser: tuple[Any, str, Harness]) -> None:
    chromium, base, console = browser
    first = _chat(console, "flow-5a")
    second = console.grooming_case(conv="flow-5b", child="child-2", adult=ADULT)
    media = console.media(ADULT, ["child-2"], bank_benign_image(console.url), mid="img-flow-5")["case_id"]
    other = console.grooming_case(conv="flow-5c", child="child-2", adult="adult-2")
    page = _login(chromium, base, "rev")
    page.goto(f"{base}/console/cases/{first}")
    page.click("dl.facts a.account-link")
    page.wait_for_url(f"{base}/console/accounts/{ADULT}")

    cases_shown = page.locator("section.account-cases a").all_inner_texts()
    assert sorted(cases_shown) == sorted(c[:12] for c in (first, second, media))  # not adult-2's
    assert other[:12] not in cases_shown
    assert page.inner_text("dt:text-is('Open cases') + dd") == "3 of 3"
    children = [row.split("\t")[0] for row in page.locator("tr.child-contact").all_inner_texts()]
    assert sorted(children) == [CHILD, "child-2"]
    assert "test-bank" in page.inner_text("tr.media-match")
    with session_scope(console.url) as session:
        viewers = session.execute(
            select(EvidenceRecord.actor).where(EvidenceRecord.action == "view_account")
        ).scalars()
        assert list(viewers) == ["console:rev"]
    _screenshot(page, "account.png")
    page.click(f"section.account-cases a:text('{second[:12]}')")
    page.wait_for_url(f"{base}/console/cases/{second}")


def test_status_page_for_admins(browser: tuple[Any, str, Harness]) -> None:
    chromium, base, console = browser
    console.account("adult-3", "adult")
    grooming = _chat(console, "flow-6")
    console.grooming_case(conv="flow-6b", child="child-2", adult="adult-2")
    console.media("adult-2", [], bank_benign_image(console.url), mid="img-flow-6")
    reports = [
        console.report(reporter_id="adult-3", target_type="account", target_id=t, reason="harassment")
        for t in (ADULT, "adult-2")
    ]
    with session_scope(console.url) as session:  # the grooming case has waited 20 min of its 15
        row = session.get(CaseRow, grooming)
        assert row is not None
        row.created_at = datetime.now(UTC) - timedelta(minutes=20)
    rev = _login(chromium, base, "rev")
    assert rev.locator("nav a:text-is('Status')").count() == 0
    assert rev.goto(f"{base}/console/status").status == 403
    rev.goto(f"{base}/console/cases/{reports[1]['case_id']}")
    rev.click("form.decide button.d-dismiss")
    rev.wait_for_selector("p.flash")

    page = _login(chromium, base, "boss")
    page.click("nav a:text-is('Status')")
    page.wait_for_url(f"{base}/console/status")
    with session_scope(console.url) as session:
        open_kinds = sorted(session.execute(select(CaseRow.kind).where(CaseRow.status != "closed")).scalars())
    shown = {
        row.get_attribute("id"): int(row.locator("td.open").inner_text())
        for row in page.locator("section.status-kinds tbody tr").all()
    }
    assert shown == {f"kind-{k}": open_kinds.count(k) for k in set(open_kinds)}
    assert page.inner_text("#kind-grooming td.overdue-count") == "1"
    assert page.inner_text("#sla-grooming-child_in_danger td.oldest") == "20 min"
    overdue = page.locator("#sla-grooming-child_in_danger td.overdue-count")
    assert overdue.evaluate("e => getComputedStyle(e).color") == "rgb(181, 71, 58)"
    assert page.inner_text("tr.reviewer") == "console:rev\t1"
    assert page.inner_text("p.stream-none") == "No stream configured ([stream] url)."
    assert "detector runs in this server: mean" in page.inner_text("p.latency")
    with session_scope(console.url) as session:
        audited = session.execute(
            select(EvidenceRecord.action, EvidenceRecord.actor).where(
                EvidenceRecord.action.in_(("view_status", "view_refused"))
            )
        ).all()
    assert sorted(audited) == [("view_refused", "console:rev"), ("view_status", "console:boss")]
    _screenshot(page, "status.png")
