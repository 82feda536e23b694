"""The child-safety rules as pure functions: each rule, its reasons, its configuration."""

from __future__ import annotations

from safeguard.config import Settings
from safeguard.policy import (
    Action,
    Party,
    RecipientContext,
    decide_connection_request,
    decide_message,
    filter_suggestions,
    is_minor,
    texts,
)

CHILD = Party("c1", "child", "verified")
CHILD2 = Party("c2", "child", "verified")
TEEN = Party("t1", "teen", "estimated")
ADULT = Party("a1", "adult", "verified")
ADULT2 = Party("a2", "adult", "verified")
UNKNOWN = Party("u1", "unknown")


def codes(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.code for r in result.reasons]


def message(sender, recipients, *, risk=0.0, conv=0.0, cats=(), account=0.0, settings=None):  # type: ignore[no-untyped-def]
    return decide_message(
        sender,
        recipients,
        message_risk=risk,
        conversation_risk=conv,
        categories=cats,
        account_risk=account,
        settings=settings or Settings(),
    )


def test_minor_bands_default_to_under_18() -> None:
    rules = Settings().policy
    assert is_minor(CHILD, rules) and is_minor(TEEN, rules)
    assert not is_minor(ADULT, rules) and not is_minor(UNKNOWN, rules)
    strict = Settings(policy={"treat_unknown_as_minor": True}).policy
    assert is_minor(UNKNOWN, strict)


def test_adult_to_adult_is_allowed_whatever_the_risk() -> None:
    decision = message(ADULT, [RecipientContext(ADULT2)], risk=0.9, conv=0.99)
    assert decision.action is Action.ALLOW
    assert decision.reasons == []
    assert decision.risk == 0.9 and decision.conversation_risk == 0.99


def test_unconnected_first_message_to_child_needs_confirmation_with_support_text() -> None:
    decision = message(ADULT, [RecipientContext(CHILD)])
    assert decision.action is Action.REQUIRE_CONFIRMATION
    assert codes(decision) == ["unconnected_contact"]
    assert decision.reasons[0].account_id == "c1"
    assert decision.warn_recipient == texts.UNKNOWN_SENDER
    assert "trust" in decision.warn_recipient


def test_connected_or_confirmed_contact_is_allowed() -> None:
    assert message(ADULT, [RecipientContext(CHILD, connected=True)]).action is Action.ALLOW
    confirmed = message(ADULT, [RecipientContext(CHILD, confirmed=True)])
    assert confirmed.action is Action.ALLOW
    assert confirmed.warn_recipient is None


def test_unconnected_contact_can_be_blocked_or_allowed_by_configuration() -> None:
    block = Settings(policy={"unconnected_contact": "block"})
    assert message(ADULT, [RecipientContext(CHILD)], settings=block).action is Action.BLOCK
    allow = Settings(policy={"unconnected_contact": "allow"})
    assert message(ADULT, [RecipientContext(CHILD)], settings=allow).action is Action.ALLOW


def test_grooming_risk_holds_then_escalates_adult_to_child() -> None:
    connected = [RecipientContext(CHILD, connected=True)]
    hold = message(ADULT, connected, conv=0.7)
    assert hold.action is Action.HOLD
    assert "grooming_risk_hold" in codes(hold)
    escalate = message(ADULT, connected, conv=0.9)
    assert escalate.action is Action.ESCALATE and escalate.escalated
    assert "grooming_risk_escalate" in codes(escalate)
    assert "grooming_risk_hold" not in codes(escalate)


def test_thresholds_are_configurable() -> None:
    settings = Settings(thresholds={"warn": 0.1, "hold": 0.2, "escalate": 0.3})
    connected = [RecipientContext(CHILD, connected=True)]
    assert message(ADULT, connected, conv=0.25, settings=settings).action is Action.HOLD
    assert message(ADULT, connected, conv=0.15, settings=settings).action is Action.WARN_RECIPIENT


def test_child_to_child_risk_warns_but_does_not_hold_by_default() -> None:
    decision = message(CHILD2, [RecipientContext(CHILD, connected=True)], conv=0.95)
    assert decision.action is Action.WARN_RECIPIENT
    assert codes(decision) == ["conversation_risk_warn"]
    assert decision.warn_recipient == texts.RISKY_CONVERSATION


def test_platform_move_signal_warns_the_child_even_at_low_risk() -> None:
    decision = message(ADULT, [RecipientContext(CHILD, connected=True)], cats=["platform_move"])
    assert decision.action is Action.WARN_RECIPIENT
    assert codes(decision) == ["signal_warn"]
    assert "platform_move" in decision.reasons[0].detail


def test_account_risk_holds_contact_with_unconnected_minors_and_names_reasons() -> None:
    from safeguard.policy import Reason

    decision = decide_message(
        ADULT,
        [RecipientContext(CHILD, confirmed=True)],
        message_risk=0.0,
        conversation_risk=0.0,
        account_risk=0.7,
        account_reasons=[Reason("fan_out_to_minors", "contacted 6", "a1")],
        settings=Settings(),
    )
    assert decision.action is Action.HOLD
    assert codes(decision) == ["account_risk_hold", "fan_out_to_minors"]


def test_group_message_takes_the_most_severe_recipient_action() -> None:
    decision = message(
        ADULT,
        [RecipientContext(ADULT2), RecipientContext(CHILD), RecipientContext(TEEN, connected=True)],
    )
    assert decision.action is Action.REQUIRE_CONFIRMATION
    assert decision.recipient_actions == {
        "a2": Action.ALLOW,
        "c1": Action.REQUIRE_CONFIRMATION,
        "t1": Action.ALLOW,
    }


def test_connection_request_adult_to_child_needs_confirmation_and_warns() -> None:
    decision = decide_connection_request(ADULT, CHILD, connected=False, settings=Settings())
    assert decision.action is Action.REQUIRE_CONFIRMATION
    assert codes(decision) == ["adult_to_minor_request"]
    assert decision.warn_recipient == texts.UNKNOWN_REQUEST


def test_connection_request_rules() -> None:
    settings = Settings()
    assert (
        decide_connection_request(ADULT, CHILD, connected=True, settings=settings).action
        is Action.ALLOW
    )
    risky = decide_connection_request(
        ADULT, CHILD, connected=False, requester_account_risk=0.7, settings=settings
    )
    assert risky.action is Action.HOLD and codes(risky) == ["account_risk_hold"]
    worst = decide_connection_request(
        ADULT, CHILD, connected=False, requester_account_risk=0.9, settings=settings
    )
    assert worst.action is Action.ESCALATE
    child_to_adult = decide_connection_request(CHILD, ADULT, connected=False, settings=settings)
    assert child_to_adult.action is Action.WARN_RECIPIENT
    assert child_to_adult.warn_requester == texts.ABOUT_TO_CONNECT
    peers = decide_connection_request(CHILD2, CHILD, connected=False, settings=settings)
    assert peers.action is Action.WARN_RECIPIENT and peers.warn_recipient
    blocked = Settings(policy={"adult_to_minor_requests": "block"})
    assert (
        decide_connection_request(ADULT, TEEN, connected=False, settings=blocked).action
        is Action.BLOCK
    )
    assert (
        decide_connection_request(ADULT, ADULT2, connected=False, settings=settings).action
        is Action.ALLOW
    )


def test_children_are_not_suggested_to_adults_or_unconnected_accounts() -> None:
    result = filter_suggestions(
        ADULT, [CHILD, TEEN, ADULT2, UNKNOWN], connected_ids={"c1"}, settings=Settings()
    )
    assert result.allowed_ids == ["a2", "u1"]
    assert {r.account_id: r.code for r in result.excluded} == {
        "c1": "minor_to_non_minor",
        "t1": "minor_to_non_minor",
    }


def test_children_get_no_network_expansion_unless_enabled() -> None:
    off = filter_suggestions(CHILD, [CHILD2, ADULT], connected_ids=set(), settings=Settings())
    assert off.allowed_ids == []
    assert {r.code for r in off.excluded} == {"minor_viewer"}
    enabled = Settings(policy={"child_network_suggestions": True})
    on = filter_suggestions(CHILD, [CHILD2, TEEN, ADULT], connected_ids={"c2"}, settings=enabled)
    assert on.allowed_ids == ["c2"]
    assert {r.account_id: r.code for r in on.excluded} == {
        "t1": "minor_unconnected",
        "a1": "adult_to_minor_viewer",
    }


def test_suggestions_drop_duplicates_and_the_viewer() -> None:
    result = filter_suggestions(
        ADULT, [ADULT2, ADULT2, ADULT], connected_ids=set(), settings=Settings()
    )
    assert result.allowed_ids == ["a2"]


def test_threshold_order_is_validated() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="warn <= hold <= escalate"):
        Settings(thresholds={"warn": 0.9, "hold": 0.5})
