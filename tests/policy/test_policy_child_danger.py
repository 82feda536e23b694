"""Sextortion threats and self-harm coercion to a child: priority 0, help for the child, and
the sender's access to the child's followers revoked (issue 19)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from safeguard.accounts.service import upsert_account
from safeguard.config import Settings
from safeguard.policy import Action, Party, RecipientContext, decide_message, texts
from safeguard.policy.engine import MessageEngine, MessageEvent
from safeguard.policy.models import EscalationRow
from safeguard.store.db import dispose_engines, get_sessionmaker, session_scope
from safeguard.text import load_detector

CHILD = Party("c1", "child", "verified")
ADULT = Party("a1", "adult", "verified")
ADULT2 = Party("a2", "adult", "verified")
TEEN = Party("t1", "teen", "estimated")


def _decide(sender: Party, recipients: list[Party], cats: tuple[str, ...] = ("sextortion",), **kw):  # type: ignore[no-untyped-def]
    return decide_message(
        sender,
        [RecipientContext(p, connected=True) for p in recipients],
        message_risk=0.1,
        conversation_risk=0.1,
        categories=cats,
        self_harm=kw.pop("self_harm", False),
        settings=kw.pop("settings", None) or Settings(),
    )


def test_sextortion_threat_to_a_child_escalates_at_priority_0_with_help() -> None:
    decision = _decide(ADULT, [CHILD, ADULT2])
    assert decision.action is Action.ESCALATE and decision.priority == 0
    assert decision.recipient_actions == {"c1": Action.ESCALATE, "a2": Action.ALLOW}
    assert [(r.code, r.account_id) for r in decision.reasons if r.code == "sextortion_threat"] == [
        ("sextortion_threat", "c1")
    ]
    assert decision.support is not None and decision.support["text"] == texts.SEXTORTION_SUPPORT
    names = [r["name"] for r in decision.support["routes"]]
    assert names == ["NCMEC Take It Down", "IWF and Childline Report Remove"]
    assert decision.support["crisis_lines"] == []
    [revoke] = decision.platform_actions
    assert (revoke.action, revoke.account_id, revoke.recipient_id) == ("revoke_follower_access", "a1", "c1")
    assert "sextortion" in revoke.reason


def test_support_text_says_what_the_child_can_do() -> None:
    text = texts.SEXTORTION_SUPPORT.lower()
    for words in ("not your fault", "don't pay", "don't send", "keep the messages", "report"):
        assert words in text


def test_routes_follow_the_configured_region_and_unknown_regions_fall_back() -> None:
    gb = _decide(ADULT, [CHILD], settings=Settings(support={"region": "GB"}))
    assert gb.support is not None and [r["name"] for r in gb.support["routes"]] == [
        "IWF and Childline Report Remove"
    ]
    custom = Settings(
        support={"region": "NL", "routes": {"NL": [{"name": "Helpwanted", "url": "https://example.org/hw"}]}}
    )
    nl = _decide(ADULT, [CHILD], settings=custom)
    assert nl.support is not None and nl.support["routes"] == [
        {"name": "Helpwanted", "url": "https://example.org/hw"}
    ]
    elsewhere = _decide(ADULT, [CHILD], settings=Settings(support={"region": "FR"}))
    assert elsewhere.support is not None and elsewhere.support["region"] == "default"


def test_self_harm_coercion_adds_the_crisis_line() -> None:
    decision = _decide(
        ADULT, [TEEN], cats=("coercion",), self_harm=True, settings=Settings(support={"region": "US"})
    )
    assert decision.action is Action.ESCALATE and decision.priority == 0
    assert [r.code for r in decision.reasons] == ["self_harm_coercion"]
    assert decision.support is not None and decision.support["crisis_text"] == texts.SELF_HARM_SUPPORT
    assert decision.support["crisis_lines"][0]["url"] == "https://988lifeline.org"
    assert decision.support["text"] is None


def test_hold_instead_of_escalate_by_setting() -> None:
    decision = _decide(ADULT, [CHILD], settings=Settings(support={"action": "hold"}))
    assert decision.action is Action.HOLD and decision.platform_actions


@pytest.mark.parametrize(
    ("sender", "recipients", "cats"),
    [
        (ADULT, [ADULT2], ("sextortion",)),  # no child
        (Party("c9", "child", "verified"), [CHILD], ("sextortion",)),  # a child is not a risky sender
        (ADULT, [CHILD], ("coercion",)),  # coercion without the self-harm cue
    ],
)
def test_no_danger_without_a_risky_sender_a_child_and_a_threat(sender, recipients, cats) -> None:  # type: ignore[no-untyped-def]
    decision = _decide(sender, recipients, cats=cats)
    assert decision.priority is None and decision.support is None and decision.platform_actions == []
    assert not {r.code for r in decision.reasons} & {"sextortion_threat", "self_harm_coercion"}


@pytest.fixture
def url(db_url: str) -> Iterator[str]:
    settings = Settings(database_url=db_url)
    with session_scope(db_url) as session:
        upsert_account(session, "adult-1", age_band="adult", settings=settings)
        upsert_account(session, "child-1", age_band="child", settings=settings)
    yield db_url
    dispose_engines()


def test_the_message_path_escalates_a_threat_at_priority_0_and_returns_help(url: str) -> None:
    settings = Settings(database_url=url, detector_embeddings=False)
    engine = MessageEngine(get_sessionmaker(url), load_detector(None, embeddings=False), settings)
    threat = "send me 500 dollars on cash app or i will send your pics to all your followers"
    [outcome] = engine.process_many([MessageEvent("x1", "m1", "adult-1", threat, ("child-1",))])
    body = outcome.decision
    assert body["action"] == "escalate"
    assert body["support"]["text"] == texts.SEXTORTION_SUPPORT
    assert body["platform_actions"][0]["action"] == "revoke_follower_access"
    with session_scope(url) as session:
        priorities = session.execute(select(EscalationRow.priority)).scalars().all()
    assert priorities == [0]


def test_ordinary_decisions_keep_their_shape(url: str) -> None:
    settings = Settings(database_url=url, detector_embeddings=False)
    engine = MessageEngine(get_sessionmaker(url), load_detector(None, embeddings=False), settings)
    [outcome] = engine.process_many([MessageEvent("x2", "m1", "adult-1", "how was school", ("child-1",))])
    assert "support" not in outcome.decision and "platform_actions" not in outcome.decision
