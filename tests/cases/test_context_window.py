"""The context window: a bounded ring per conversation, stored at escalation, shown on the case."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from case_support import Harness
from sqlalchemy import select

from safeguard.cases.models import CaseRow
from safeguard.config import Settings
from safeguard.core.clock import utcnow
from safeguard.policy import context_window
from safeguard.policy.models import ConversationContextRow
from safeguard.policy.retention import purge_expired
from safeguard.store.db import session_scope


@pytest.fixture(autouse=True)
def _fresh_ring() -> None:
    context_window.RING.clear()


def _event(mid: str, text: str = "hello", conv: str = "c") -> SimpleNamespace:
    return SimpleNamespace(conversation_id=conv, message_id=mid, sender_id="s", text=text)


def test_ring_keeps_three_before_and_drops_least_recent_conversation() -> None:
    ring = context_window.ContextRing(max_conversations=2)
    for i in range(6):
        before = ring.push("a", context_window.entry_of(_event(f"m{i}"), 0.1, False))
    assert [m["message_id"] for m in before] == ["m2", "m3", "m4"]
    again = ring.push("a", context_window.entry_of(_event("m5"), 0.1, False))
    assert [m["message_id"] for m in again] == ["m2", "m3", "m4"]  # a replay replaces itself
    ring.push("b", context_window.entry_of(_event("x"), 0.1, False))
    ring.push("c", context_window.entry_of(_event("y"), 0.1, False))
    assert ring.push("a", context_window.entry_of(_event("m6"), 0.1, False)) == []
    long = context_window.entry_of(_event("big", "x" * 10_000), 0.1, False)
    assert len(long["text"]) == context_window.MAX_TEXT


def test_later_flagged_message_of_an_open_case_adds_its_own_window(monkeypatch: pytest.MonkeyPatch) -> None:
    ring = context_window.ContextRing()
    stored: list[tuple[list[str], str | None]] = []

    def capture(session: object, conv: str, entries: list[dict], case_id: str | None) -> None:
        stored.append(([e["message_id"] for e in entries], case_id))

    monkeypatch.setattr(context_window, "store", capture)
    for i in range(20):
        flagged = i in (3, 15)
        context_window.observe(
            lambda: None,
            _event(f"m{i}"),
            risk=0.9 if flagged else 0.1,
            flagged=flagged,
            case_id="case-1" if i == 3 else None,
            ring=ring,
        )
    context_window.observe(
        lambda: None, _event("z1", conv="other"), risk=0.9, flagged=True, case_id=None, ring=ring
    )
    # A flagged message of a conversation without a case stores nothing.
    assert stored == [
        (["m0", "m1", "m2", "m3"], "case-1"),
        (["m4"], None),
        (["m5"], None),
        (["m6"], None),
        (["m12", "m13", "m14", "m15"], None),  # flagged again while its case is open
        (["m16"], None),
        (["m17"], None),
        (["m18"], None),
    ]


def test_escalated_conversation_keeps_both_parties_and_three_after(lite: Harness) -> None:
    case_id = lite.grooming_case()
    escalated = [4]
    for n, (sender, to, text) in enumerate(
        [
            ("adult-1", "child-1", "see you there"),
            ("child-1", "adult-1", "ok"),
            ("adult-1", "child-1", "bring nobody"),
            ("child-1", "adult-1", "fine"),
            ("adult-1", "child-1", "bye"),
            ("child-1", "adult-1", "bye"),
            ("child-1", "adult-1", "night"),
            ("child-1", "adult-1", "sleep"),
            ("child-1", "adult-1", "zz"),
        ],
        start=5,
    ):
        if lite.message(sender, [to], text, mid=f"conv-1-m{n}")["action"] == "escalate":
            escalated.append(n)
    last = min(max(escalated) + 3, 13)
    with session_scope(lite.url) as session:
        row = session.get(ConversationContextRow, "conv-1")
        messages = row.window["messages"]
        ids = [m["message_id"] for m in messages]
        # 3 before each flagged message, the message, then 3 after the last escalation.
        assert ids == [f"conv-1-m{i}" for i in range(1, last + 1)]
        assert last < 13, escalated  # the tail closes once the escalations stop
        assert {m["sender_id"] for m in messages} == {"adult-1", "child-1"}
        assert next(m for m in messages if m["message_id"] == "conv-1-m2")["text"] == "i am 12"
        assert next(m for m in messages if m["message_id"] == "conv-1-m4")["flagged"] is True
        view = context_window.window_of(session, "conv-1")
    running = [m["running_risk"] for m in view]
    assert running == sorted(running)
    chart = context_window.risk_chart(view)
    assert chart.startswith("<svg") and "<polyline" in chart and 'class="flag"' in chart
    page = lite.client.get(f"/v1/cases/{case_id}", headers=lite.auth("review"))
    assert page.status_code == 200


def test_context_follows_escalation_retention_and_legal_hold(lite: Harness) -> None:
    lite.grooming_case()
    lite.grooming_case(conv="conv-2", child="child-2", adult="adult-2")
    later = utcnow() + timedelta(days=400)
    with session_scope(lite.url) as session:
        held = session.execute(select(CaseRow).where(CaseRow.conversation_id == "conv-2")).scalar_one()
        held.legal_hold = True
    with session_scope(lite.url) as session:
        assert purge_expired(session, Settings(), now=utcnow())["conversation_context"] == 0
        counts = purge_expired(session, Settings(), now=later)
    assert counts["conversation_context"] == 1
    with session_scope(lite.url) as session:
        assert session.get(ConversationContextRow, "conv-1") is None
        assert session.get(ConversationContextRow, "conv-2") is not None
