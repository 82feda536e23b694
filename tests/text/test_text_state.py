"""Streaming ConversationState: running risk, first flag, stages, authors, age bands,
and the JSON round trip the store relies on."""

from __future__ import annotations

import json

import pytest

from safeguard.ingest.records import Message
from safeguard.text import ConversationState, Detector, MessageAssessment, Stage

ADULT, CHILD = "gaz_unknown", "mia_13"
# A leaflet-level grooming script: rapport, age probe, flattery, platform move,
# secrecy, picture request, meeting. The child never uses a tactic.
SCRIPT: list[tuple[str, str]] = [
    (ADULT, "hey how r u"),
    (CHILD, "good thanks"),
    (ADULT, "how old are you?"),
    (CHILD, "im 13"),
    (ADULT, "ur so mature for ur age"),
    (CHILD, "aw thanks"),
    (ADULT, "add me on snap"),
    (ADULT, "dont tell ur mum about me, its our secret"),
    (ADULT, "send me a pic of you"),
    (CHILD, "idk"),
    (ADULT, "i'll pick you up after school"),
]
BANDS = {ADULT: "unknown", CHILD: "teen"}


def messages(cid: str = "c1", bands: dict[str, str] | None = None) -> list[Message]:
    bands = BANDS if bands is None else bands
    return [
        Message(cid, f"{cid}-{i}", sender, text, None, bands.get(sender))
        for i, (sender, text) in enumerate(SCRIPT)
    ]


def feed(
    detector: Detector, msgs: list[Message], cid: str = "c1"
) -> tuple[ConversationState, list[MessageAssessment]]:
    state = detector.new_conversation(cid)
    return state, [state.add_message(m) for m in msgs]


def test_streaming_risk_never_decreases_on_a_grooming_script(fast_detector: Detector) -> None:
    # Lexicon-only: evidence and child context only accumulate. (With the embedding
    # stage, nearest-example evidence is averaged per message and may dip.)
    state, steps = feed(fast_detector, messages())
    risks = [s.conversation_risk for s in steps]
    assert risks == sorted(risks)
    assert risks[0] < 0.1 < 0.9 < risks[-1]
    assert state.risk == pytest.approx(risks[-1], abs=1e-4)
    assert [s.message_index for s in steps] == list(range(len(SCRIPT)))


def test_first_flagged_index_is_the_first_message_over_threshold(fast_detector: Detector) -> None:
    state, steps = feed(fast_detector, messages())
    first = state.first_flagged_index
    assert first is not None
    assert all(s.conversation_risk < fast_detector.threshold and not s.flagged for s in steps[:first])
    assert steps[first].flagged and steps[first].conversation_risk >= fast_detector.threshold
    # Early: flagged on a tactic of the adult, after the age probe and before the meeting line.
    assert SCRIPT[first][0] == ADULT and steps[first].signals
    assert 2 < first < len(SCRIPT) - 1
    assert state.flagged


def test_first_flagged_index_is_not_moved_by_later_messages(fast_detector: Detector) -> None:
    state, _ = feed(fast_detector, messages())
    first = state.first_flagged_index
    state.add_message(Message("c1", "extra", ADULT, "send me a pic", None, "unknown"))
    assert state.first_flagged_index == first


def test_stage_progresses_through_the_script(fast_detector: Detector) -> None:
    state, steps = feed(fast_detector, messages())
    order = [s.value for s in Stage]
    ranks = [order.index(s.stage) for s in steps]
    assert steps[0].stage == Stage.NONE.value
    assert ranks == sorted(ranks)  # the furthest stage reached never goes back
    assert {"friendship_forming", "relationship_forming", "exclusivity", "sexual"} <= set(state.stages)
    assert state.stage == state.stages[-1]
    assert state.stages == sorted(state.stages, key=order.index)


def test_signals_name_message_sender_and_category(fast_detector: Detector) -> None:
    state, _ = feed(fast_detector, messages())
    by_category = {s.category: s for s in state.signals}
    assert by_category["platform_move"].message_index == 6
    assert by_category["platform_move"].excerpt == "add me on snap"
    assert by_category["secrecy"].message_index == 7
    assert by_category["secrecy"].message_id == "c1-7"
    assert {s.sender_id for s in state.signals} == {ADULT}
    indexes = [s.message_index for s in state.signals]
    assert indexes == sorted(indexes)


def test_author_scores_point_at_the_adult(fast_detector: Detector) -> None:
    state, _ = feed(fast_detector, messages())
    scores = state.author_scores
    assert set(scores) == {ADULT, CHILD}
    assert scores[ADULT] > 0.5 > scores[CHILD]
    assert state.likely_groomer == ADULT


def test_likely_groomer_even_when_the_child_repeats_a_phrase(fast_detector: Detector) -> None:
    msgs = [*messages(), Message("c1", "c1-x", CHILD, "ok i wont tell my mum", None, "teen")]
    state, _ = feed(fast_detector, msgs)
    assert state.likely_groomer == ADULT


def test_no_senders_no_author_scores(fast_detector: Detector) -> None:
    state = fast_detector.new_conversation("bare")
    for _, text in SCRIPT:
        state.add_message(text)
    assert state.author_scores == {}
    assert state.likely_groomer is None
    assert state.risk > 0.5  # the text alone (with "im 13") still carries the risk


def test_child_and_adult_bands_give_full_child_context(fast_detector: Detector) -> None:
    state = fast_detector.new_conversation("bands")
    state.add_message(Message("bands", "1", "a", "hi", None, "adult"))
    state.add_message(Message("bands", "2", "k", "hi", None, "child"))
    assert state.child_context == 1.0


def test_two_adults_cap_child_context(fast_detector: Detector) -> None:
    state = fast_detector.new_conversation("adults")
    state.add_message(Message("adults", "1", "a", "i'm in year 8 lol jk", None, "adult"))
    state.add_message(Message("adults", "2", "b", "haha same, im 12", None, "adult"))
    assert state.child_context == pytest.approx(0.1)
    assert 1.0 - state._evidence.child_remaining > 0.5  # the lexical cues were seen, then capped


def test_two_adults_score_lower_than_adult_and_child_on_the_same_words(fast_detector: Detector) -> None:
    adults, _ = feed(fast_detector, messages("a", {ADULT: "adult", CHILD: "adult"}), "a")
    mixed, _ = feed(fast_detector, messages("m", {ADULT: "adult", CHILD: "child"}), "m")
    assert adults.risk < 0.5 < mixed.risk


def test_unknown_bands_fall_back_to_lexical_context(fast_detector: Detector) -> None:
    state = fast_detector.new_conversation("u")
    state.add_message(Message("u", "1", "a", "im 13", None, None))
    assert state.child_context == pytest.approx(0.8)


def test_children_among_themselves_are_bounded(fast_detector: Detector) -> None:
    state = fast_detector.new_conversation("kids")
    state.add_message(Message("kids", "1", "a", "im 13", None, "teen"))
    state.add_message(Message("kids", "2", "b", "me too", None, "teen"))
    assert 0.25 <= state.child_context <= 0.5


def _roundtrip_then_continue(detector: Detector, split: int) -> None:
    msgs = messages()
    original = detector.new_conversation("c1")
    for m in msgs[:split]:
        original.add_message(m)
    saved = json.loads(json.dumps(original.to_dict()))
    restored = detector.restore_conversation(saved)
    assert restored.to_dict() == original.to_dict()
    for m in msgs[split:]:
        a = original.add_message(m)
        b = restored.add_message(m)
        assert a == b
    assert restored.to_dict() == original.to_dict()
    assert restored.risk == original.risk
    assert restored.author_scores == original.author_scores
    assert restored.first_flagged_index == original.first_flagged_index
    assert restored.stages == original.stages


@pytest.mark.parametrize("split", [0, 1, 5, 8, len(SCRIPT)])
def test_to_dict_from_dict_round_trip_gives_identical_scores(fast_detector: Detector, split: int) -> None:
    _roundtrip_then_continue(fast_detector, split)


def test_round_trip_with_embedding_stage(embedding_detector: Detector) -> None:
    _roundtrip_then_continue(embedding_detector, 6)


def test_from_dict_rejects_other_versions(fast_detector: Detector) -> None:
    data = fast_detector.new_conversation("v").to_dict()
    data["version"] = 999
    with pytest.raises(ValueError, match="version"):
        ConversationState.from_dict(fast_detector, data)


def test_states_saved_by_version_1_still_load(fast_detector: Detector) -> None:
    from safeguard.text.state import SIGNAL_FIELDS

    original = fast_detector.new_conversation("c1")
    for m in messages():
        original.add_message(m)
    current = original.to_dict()
    assert current["signals"] and all(isinstance(row, list) for row in current["signals"])
    as_dicts = [dict(zip(SIGNAL_FIELDS, row, strict=True)) for row in current["signals"]]
    old = {**current, "version": 1, "signals": as_dicts}
    restored = ConversationState.from_dict(fast_detector, json.loads(json.dumps(old)))
    assert restored.to_dict() == current
    assert restored.signals == original.signals and restored.stages == original.stages
    # Rows instead of dicts: the saved signals (most of a long conversation's state,
    # rewritten with every batch of its messages) are much smaller.
    assert len(json.dumps(current["signals"])) < 0.7 * len(json.dumps(old["signals"]))


def test_kept_signals_are_bounded(fast_detector: Detector) -> None:
    from safeguard.text.state import MAX_KEPT_SIGNALS

    state = fast_detector.new_conversation("long")
    state.add_message(Message("long", "0", ADULT, "how old are you?", None, "unknown"))
    for i in range(MAX_KEPT_SIGNALS + 50):
        state.add_message(Message("long", str(i + 1), ADULT, "send me a pic of you", None, "unknown"))
    assert len(state.signals) <= MAX_KEPT_SIGNALS + 11
    assert any(s.category == "age_location_probe" for s in state.signals)  # first of its category kept
    assert state.message_count == MAX_KEPT_SIGNALS + 51


def test_game_lobby_opener_does_not_hide_a_later_meeting(fast_detector: Detector) -> None:
    msgs = [Message("g", "g-0", ADULT, "gg that was a good game", None, "unknown"), *messages("g")]
    state, _ = feed(fast_detector, msgs, "g")
    assert "meeting_compliance" in state.stages


def test_recipient_bands_give_child_context_from_the_first_message() -> None:
    from safeguard.ingest.records import Message
    from safeguard.text import load_detector

    detector = load_detector(embeddings=False)
    told = detector.new_conversation("c")
    blind = detector.new_conversation("c")
    text = "you're really mature for your age, don't tell your parents about us"
    adult = Message("c", "1", "adult-1", text, sender_age_band="adult")
    told.add_message(adult, recipient_age_bands=["child"])
    blind.add_message(adult)
    assert told.child_context == 1.0
    assert blind.child_context <= 0.1  # only an adult is known: an adults' chat
    assert told.risk > blind.risk
    restored = detector.restore_conversation(told.to_dict())
    assert restored.recipient_bands == {"child"} and restored.risk == told.risk
    peers = detector.new_conversation("p")
    kid = Message("p", "1", "kid-1", "hey", sender_age_band="child")
    peers.add_message(kid, recipient_age_bands=["child"])
    assert peers.child_context <= 0.5  # children among themselves
