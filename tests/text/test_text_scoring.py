"""Pure scoring functions: noisy-OR, decay, cue weights, child presence, families, breadth."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeguard.text.banks import EMBEDDING_CAP, EMBEDDING_MARGIN, embedding_excess
from safeguard.text.scoring import (
    CUE_WEIGHT,
    HALF_LIFE_WORDS,
    SIMILARITY_MARGIN,
    Context,
    age_gap,
    author_logit,
    author_risk,
    breadth,
    decayed,
    family_logits,
    length_calibrated,
    noisy_or,
    sigmoid,
    similarity_excess,
    similarity_logit,
)

weights = st.lists(st.floats(min_value=0.0, max_value=1.0), max_size=12)
CUES = sorted(CUE_WEIGHT)


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


@pytest.mark.parametrize("z", [-1000.0, -40.0, -1.0, 0.0, 1.0, 40.0, 1000.0])
def test_sigmoid_is_safe_and_symmetric(z: float) -> None:
    value = sigmoid(z)
    assert 0.0 <= value <= 1.0
    assert sigmoid(-z) == pytest.approx(1.0 - value)
    if abs(z) < 50:
        assert value == pytest.approx(1.0 / (1.0 + math.exp(-z)))


def test_evidence_halves_over_the_half_life() -> None:
    assert decayed(0.8, 0) == 0.8
    assert decayed(0.8, HALF_LIFE_WORDS) == pytest.approx(0.4)
    assert decayed(0.8, 10 * HALF_LIFE_WORDS) < 0.001


def test_no_evidence_is_low_risk() -> None:
    assert author_risk({}, Context()) < 0.01


def test_stranger_chat_openers_count_for_nothing() -> None:
    """'asl', 'how old r u', 'where u from' open most ordinary stranger chats."""
    assert author_logit({"opener": 1.0}, Context()) == author_logit({}, Context())


def test_sexual_talk_alone_is_not_grooming() -> None:
    """Adults talk about sex among themselves: sexual vocabulary without a child stays low,
    however much of it there is."""
    assert author_risk({"sexual": 1.0, "body": 1.0, "intimacy": 1.0}, Context()) < 0.05


def test_the_same_sexual_talk_towards_a_known_child_is_flagged() -> None:
    cues = {"sexual": 0.8, "intimacy": 0.6, "image": 0.6}
    assert author_risk(cues, Context(known_child=1.0)) > 0.5 > author_risk(cues, Context())


def test_relationship_cues_flag_without_any_age_evidence() -> None:
    """Most real grooming text never states an age: checking who is home, asking for
    secrecy and arranging to meet is enough."""
    cues = {"risk_check": 0.7, "secrecy": 0.7, "pickup": 0.7, "pet_name": 0.25}
    assert author_risk(cues, Context()) > 0.5


def test_a_childs_own_words_count_for_less_than_an_age_gap() -> None:
    """Teenagers tell each other their age; an adult's stated age beside a child's says more."""
    cues = {"platform": 0.5, "image": 0.6}
    teen_talk = author_risk(cues, Context(child=1.0))
    gap = author_risk(cues, Context(child=1.0, age_gap=1.0))
    assert gap > teen_talk
    assert teen_talk < 0.5


@pytest.mark.parametrize("cue", [c for c in CUES if CUE_WEIGHT[c] > 0])
def test_child_presence_never_lowers_a_tactic(cue: str) -> None:
    assert author_logit({cue: 0.6}, Context(known_child=1.0)) >= author_logit({cue: 0.6}, Context())


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.sampled_from(CUES), st.floats(0.0, 1.0), max_size=12),
    st.floats(0.0, 1.0),
    st.sampled_from(CUES),
    st.floats(0.0, 1.0),
)
def test_risk_is_monotone_in_evidence(
    cues: dict[str, float], presence: float, cue: str, extra: float
) -> None:
    context = Context(known_child=presence)
    base = author_risk(cues, context)
    more = dict(cues)
    more[cue] = max(more.get(cue, 0.0), extra)
    assert author_risk(more, context) >= base - 1e-12
    assert 0.0 <= base <= 1.0


def test_a_family_saturates() -> None:
    """Five bonding cues are not five times one: flirting cannot pile up into a flag."""
    bonding = {"flattery": 1.0, "pet_name": 1.0, "affection": 1.0, "trust": 1.0, "gifts": 1.0}
    assert family_logits(bonding, 0.0)["bonding"] <= 1.5
    assert author_risk(bonding, Context()) < 0.1


def test_breadth_needs_a_hallmark_of_grooming() -> None:
    """Flirting, pictures and a date are breadth among adults too."""
    adult_date = family_logits({"affection": 1.0, "image": 1.0, "meeting": 1.0}, 0.0)
    assert breadth(adult_date) == 0
    grooming = family_logits({"affection": 1.0, "image": 1.0, "meeting": 1.0, "secrecy": 0.7}, 0.0)
    assert breadth(grooming) == 4


def test_age_gap() -> None:
    assert age_gap([35], [13]) == 1.0
    assert age_gap([19], [14]) == 0.5
    assert age_gap([16], [14]) == 0.0
    assert age_gap([35], [25]) == 0.0
    assert age_gap([], [13]) == 0.0


def test_a_child_scored_as_the_author_is_discounted() -> None:
    cues = {"secrecy": 0.7, "platform": 0.5}
    assert author_risk(cues, Context(self_child=1.0)) < author_risk(cues, Context())


def test_similarity_counts_only_beyond_its_margin() -> None:
    assert similarity_excess(SIMILARITY_MARGIN) == 0.0
    assert similarity_excess(0.2) == 0.0
    assert 0 < similarity_excess(SIMILARITY_MARGIN + 0.06) < 1
    assert similarity_excess(1.0) == 1.0
    assert similarity_logit(0.0, 1.0) == 0.0
    assert similarity_logit(0.5, 1.0) > similarity_logit(0.5, 0.0) > 0


def test_length_calibration_lowers_long_chats_more_than_short_ones() -> None:
    assert length_calibrated(2.0, 0) == pytest.approx(sigmoid(2.0))
    short, long = length_calibrated(2.0, 270), length_calibrated(2.0, 4000)
    assert long < short < sigmoid(2.0)
    # An adult known to be writing to a child: the same words count wherever they fall.
    assert length_calibrated(2.0, 4000, presence=1.0) > long


@pytest.mark.parametrize(
    ("score", "expected"),
    [(-2.0, 0.0), (EMBEDDING_MARGIN, 0.0), (EMBEDDING_MARGIN + 0.5, 0.5), (100.0, EMBEDDING_CAP)],
)
def test_embedding_excess(score: float, expected: float) -> None:
    assert embedding_excess(score) == pytest.approx(expected)
