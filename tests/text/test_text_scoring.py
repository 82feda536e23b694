"""Pure scoring functions: noisy-OR, the logistic combination, child context, breadth."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeguard.text.categories import CATEGORIES
from safeguard.text.scoring import (
    BREADTH_MIN_EVIDENCE,
    EMBEDDING_CAP,
    EMBEDDING_MARGIN,
    breadth,
    conversation_logit,
    conversation_risk,
    embedding_excess,
    noisy_or,
    sigmoid,
)

weights = st.lists(st.floats(min_value=0.0, max_value=1.0), max_size=12)


def test_noisy_or_hand_values() -> None:
    assert noisy_or([]) == 0.0
    assert noisy_or([0.5]) == pytest.approx(0.5)
    assert noisy_or([0.5, 0.5]) == pytest.approx(0.75)
    assert noisy_or([0.2, 0.5]) == pytest.approx(1 - 0.8 * 0.5)
    assert noisy_or([1.0, 0.1]) == 1.0


def test_noisy_or_clamps_out_of_range_weights() -> None:
    assert noisy_or([-3.0]) == 0.0
    assert noisy_or([7.0]) == 1.0


@settings(max_examples=200, deadline=None)
@given(weights)
def test_noisy_or_properties(ws: list[float]) -> None:
    value = noisy_or(ws)
    assert 0.0 <= value <= 1.0
    assert value >= max(ws, default=0.0) - 1e-12  # at least the strongest piece
    assert noisy_or(list(reversed(ws))) == pytest.approx(value)  # order does not matter
    assert noisy_or([*ws, 0.3]) >= value - 1e-12  # more evidence never lowers it
    assert noisy_or([*ws, 0.0]) == pytest.approx(value)  # zero evidence changes nothing


def test_noisy_or_saturates_below_one_for_weak_evidence() -> None:
    assert noisy_or([0.2] * 10) < 1.0
    assert noisy_or([0.2] * 10) > noisy_or([0.2] * 5)


@pytest.mark.parametrize("z", [-1000.0, -40.0, -1.0, 0.0, 1.0, 40.0, 1000.0])
def test_sigmoid_is_safe_and_symmetric(z: float) -> None:
    value = sigmoid(z)
    assert 0.0 <= value <= 1.0
    assert sigmoid(-z) == pytest.approx(1.0 - value)
    if abs(z) < 50:
        assert value == pytest.approx(1.0 / (1.0 + math.exp(-z)))


def test_breadth_counts_real_evidence_only() -> None:
    assert breadth({}) == 0
    assert breadth({"secrecy": BREADTH_MIN_EVIDENCE, "meeting": 0.9}) == 2
    assert breadth({"secrecy": BREADTH_MIN_EVIDENCE - 0.01, "meeting": 0.1}) == 0
    assert breadth({"not_a_category": 0.9}) == 0


def test_no_evidence_is_low_risk() -> None:
    assert conversation_risk({}, 0.0) < 0.05


TACTICS = {"secrecy": 0.7, "image_request": 0.6, "platform_move": 0.45}


@pytest.mark.parametrize("category", CATEGORIES)
def test_child_context_raises_risk_of_every_tactic(category: str) -> None:
    evidence = {category: 0.6}
    assert (
        conversation_risk(evidence, 1.0) > conversation_risk(evidence, 0.5) > conversation_risk(evidence, 0.0)
    )


def test_child_context_turns_the_same_tactics_into_a_flag() -> None:
    adult = conversation_risk(TACTICS, 0.0)
    child = conversation_risk(TACTICS, 1.0)
    assert adult < 0.5 <= child


def test_sexual_talk_depends_most_on_child_context() -> None:
    """Sexual talk among adults is common; the interaction term is what makes it risky."""
    evidence = {"sexual_content": 0.8}
    gain = conversation_logit(evidence, 1.0) - conversation_logit(evidence, 0.0)
    gain_personal = conversation_logit({"personal_info": 0.8}, 1.0) - conversation_logit(
        {"personal_info": 0.8}, 0.0
    )
    assert gain > gain_personal
    assert conversation_risk(evidence, 0.0) < 0.1


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.sampled_from(CATEGORIES), st.floats(0.0, 1.0), max_size=11),
    st.floats(0.0, 1.0),
    st.sampled_from(CATEGORIES),
    st.floats(0.0, 1.0),
)
def test_risk_is_monotone_in_evidence(
    evidence: dict[str, float], child: float, category: str, extra: float
) -> None:
    base = conversation_risk(evidence, child)
    more = dict(evidence)
    more[category] = max(more.get(category, 0.0), extra)
    assert conversation_risk(more, child) >= base - 1e-12
    assert 0.0 <= base <= 1.0


def test_breadth_adds_risk_beyond_the_sum_of_tactics() -> None:
    one = {"secrecy": 0.5}
    # Same total category weight, but spread over several tactics above the breadth floor.
    spread = {"secrecy": 0.5, "meeting": 0.5, "platform_move": 0.5}
    logit_spread = conversation_logit(spread, 1.0)
    no_breadth = conversation_logit(one, 1.0)
    for category in ("meeting", "platform_move"):
        no_breadth += conversation_logit({category: 0.5}, 1.0) - conversation_logit({}, 1.0)
    assert breadth(spread) == 3
    assert logit_spread > no_breadth + 0.5  # two extra tactics * BREADTH_WEIGHT at full child context


def test_embedding_evidence_raises_risk() -> None:
    assert conversation_risk(TACTICS, 0.5, 0.3) > conversation_risk(TACTICS, 0.5, 0.0)


@pytest.mark.parametrize(
    ("score", "expected"),
    [(-2.0, 0.0), (EMBEDDING_MARGIN, 0.0), (EMBEDDING_MARGIN + 0.5, 0.5), (100.0, EMBEDDING_CAP)],
)
def test_embedding_excess(score: float, expected: float) -> None:
    assert embedding_excess(score) == pytest.approx(expected)
