"""Streaming ConversationState: running risk, first flag, stages, authors, age bands,
and the JSON round trip the store relies on."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from safeguard.ingest.records import Message
from safeguard.text import ConversationState, Detector, MessageAssessment, Stage
from safeguard.text.categories import STAGE_ORDER
from safeguard.text.scoring import BREADTH_MIN_EVIDENCE
from safeguard.text.signal_log import (
    MAX_KEPT_SIGNALS,
    PRUNE_SLACK,
    SIGNAL_FIELDS,
    Signal,
    SignalLog,
)
from safeguard.text.state_io import STATE_VERSION

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


def test_adult_accounts_joking_about_being_children_are_no_child_evidence(fast_detector: Detector) -> None:
    state = fast_detector.new_conversation("adults")
    state.add_message(Message("adults", "1", "a", "i'm in year 8 lol jk", None, "adult"))
    state.add_message(Message("adults", "2", "b", "haha same, im 12", None, "adult"))
    assert state.child_context == 0.0


def test_two_adults_score_lower_than_adult_and_child_on_the_same_words(fast_detector: Detector) -> None:
    adults, _ = feed(fast_detector, messages("a", {ADULT: "adult", CHILD: "adult"}), "a")
    mixed, _ = feed(fast_detector, messages("m", {ADULT: "adult", CHILD: "child"}), "m")
    assert adults.risk < 0.5 < mixed.risk


def test_unknown_bands_fall_back_to_lexical_context(fast_detector: Detector) -> None:
    state = fast_detector.new_conversation("u")
    state.add_message(Message("u", "1", "a", "im 13", None, None))
    assert state.child_context == pytest.approx(0.8)


def test_children_among_themselves_are_not_scored_as_grooming(fast_detector: Detector) -> None:
    state = fast_detector.new_conversation("kids")
    state.add_message(Message("kids", "1", "a", "im 13", None, "teen"))
    state.add_message(Message("kids", "2", "b", "me too. dont tell anyone i like him ok", None, "teen"))
    state.add_message(Message("kids", "3", "a", "add me on snap, delete this chat lol", None, "teen"))
    assert state.child_context == 1.0  # children take part
    assert state.risk < 0.3  # but no adult or unknown account is writing to them


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


@pytest.mark.parametrize("version", [1, 2, 3])
def test_states_saved_by_older_versions_still_load(fast_detector: Detector, version: int) -> None:
    """A state saved before cues existed (versions 1-3) keeps its signals, stages and risk,
    and goes on scoring from its authors' category evidence."""
    rows = [
        [
            "platform_move",
            6,
            "add me on snap",
            0.45,
            "asks to add on another platform",
            "exclusivity",
            ADULT,
            "c1-6",
        ],
        ["secrecy", 7, "dont tell ur mum", 0.7, "asks not to tell", "exclusivity", ADULT, "c1-7"],
    ]
    old = {
        "version": version,
        "conversation_id": "c1",
        "message_count": 8,
        "first_flagged_index": None,
        "age_bands": BANDS,
        "harmless_topics": [],
        "age_asked_by": None,
        "remaining": {"platform_move": 0.55, "secrecy": 0.3},
        "child_remaining": 0.2,
        "authors": {ADULT: {"remaining": {"platform_move": 0.55, "secrecy": 0.3}, "child_remaining": 1.0}},
        "embedded_count": 0,
        "embedding_mass": 0.0,
        "embedding_remaining": 1.0,
        "model_state": {},
        "risk": 0.42,
        "party_bands": {},
        "recipient_bands": [],
        "image_events": [],
    }
    if version == 3:
        old |= {
            "signal_rows": json.dumps(rows),
            "signal_count": 2,
            "signal_stages": [["platform_move", "exclusivity"], ["secrecy", "exclusivity"]],
        }
    else:
        old["signals"] = (
            [dict(zip(SIGNAL_FIELDS, row, strict=True)) for row in rows] if version == 1 else rows
        )
    restored = ConversationState.from_dict(fast_detector, json.loads(json.dumps(old)))
    assert [s.category for s in restored.signals] == ["platform_move", "secrecy"]
    assert restored.stage == "exclusivity" and restored.risk == 0.42
    assert restored.cues_of(ADULT) == pytest.approx({"platform": 0.45, "secrecy": 0.7})
    restored.add_message(Message("c1", "c1-8", ADULT, "i'll pick you up after school", None, "unknown"))
    assert restored.risk > 0.42 and restored.to_dict()["version"] == STATE_VERSION == 4


def test_kept_signals_are_bounded(fast_detector: Detector) -> None:
    state = fast_detector.new_conversation("long")
    state.add_message(Message("long", "0", ADULT, "how old are you?", None, "unknown"))
    for i in range(MAX_KEPT_SIGNALS + PRUNE_SLACK + 50):
        state.add_message(Message("long", str(i + 1), ADULT, "send me a pic of you", None, "unknown"))
        assert state._signal_log.count <= MAX_KEPT_SIGNALS + PRUNE_SLACK
    assert len(state.signals) <= MAX_KEPT_SIGNALS + PRUNE_SLACK + len(state.images.signals)
    assert any(s.category == "age_location_probe" for s in state.signals)  # first of its category kept
    assert state.message_count == MAX_KEPT_SIGNALS + PRUNE_SLACK + 51


# -- saved signal rows: opaque JSON text on the restore -> add_message -> save path --


def long_messages(cycles: int, cid: str = "c1") -> list[Message]:
    """The script repeated (six signals a cycle): enough cycles cross the pruning limit."""
    return [
        Message(cid, f"{cid}-{k}-{i}", sender, text, None, BANDS[sender])
        for k in range(cycles)
        for i, (sender, text) in enumerate(SCRIPT)
    ]


def store_round_trip(state: ConversationState) -> ConversationState:
    """Save and restore as the service does (orjson, non-string keys allowed)."""
    text = orjson.dumps(state.to_dict(), option=orjson.OPT_NON_STR_KEYS)
    return ConversationState.from_dict(state.detector, orjson.loads(text))


def stages_from_signals(state: ConversationState) -> list[str]:
    """``stages`` computed from the signal objects, as before the pairs were kept."""
    evidence = state.evidence
    reached = {s.stage for s in state.signals if evidence.get(s.category, 0.0) >= BREADTH_MIN_EVIDENCE}
    return [s.value for s in STAGE_ORDER if s.value in reached]


@pytest.mark.parametrize("batch", [1, 4, 23])
def test_saving_between_batches_matches_a_state_never_saved(fast_detector: Detector, batch: int) -> None:
    msgs = long_messages(60)  # 360 signals: pruned a few times
    direct = fast_detector.new_conversation("c1")
    saved = fast_detector.new_conversation("c1")
    for start in range(0, len(msgs), batch):
        for m in msgs[start : start + batch]:
            assert saved.add_message(m) == direct.add_message(m)
        saved = store_round_trip(saved)
        assert saved._signal_log.count <= MAX_KEPT_SIGNALS + PRUNE_SLACK
        assert (saved.stage, saved.stages, saved.risk) == (direct.stage, direct.stages, direct.risk)
    assert saved.signals == direct.signals
    assert saved.stages == direct.stages == stages_from_signals(direct)
    assert saved.to_dict() == direct.to_dict()
    rows = [s.to_row() for s in direct._signal_log.signals()]
    assert saved.to_dict()["signal_rows"] == orjson.dumps(rows).decode()
    assert saved.to_dict()["signal_count"] == len(rows)


def test_the_hot_path_does_not_parse_the_saved_rows(fast_detector: Detector) -> None:
    direct, _ = feed(fast_detector, messages())
    restored = store_round_trip(direct)
    for m in [Message("c1", "x1", CHILD, "see you at football practice", None, "teen"), *messages()[:3]]:
        direct.add_message(m)
        restored.add_message(m)
    saved = restored.to_dict()
    assert not restored._signal_log.parsed  # appended, counted and staged without parsing
    assert saved == direct.to_dict() and restored.stage == direct.stage
    assert restored.signals == direct.signals and restored._signal_log.parsed
    # Saved text that is not JSON at all passes through untouched.
    bad = {**direct.to_dict(), "signal_rows": "[{not json}]"}
    state = ConversationState.from_dict(fast_detector, bad)
    state.add_message(Message("c1", "x2", ADULT, "add me on snap", None, "unknown"))
    assert state.to_dict()["signal_rows"].startswith("[{not json},[")
    assert state.stages == direct.stages


def _signal(i: int, category: str, weight: float, stage: str = "friendship_forming") -> Signal:
    return Signal(category, i, f"hello {i}", weight, "test", stage, "a", str(i))


def _pruned(rows: list[list[Any]]) -> list[list[Any]]:
    """The pruning rule: the strongest MAX_KEPT_SIGNALS plus each category's first."""
    firsts: dict[str, int] = {}
    for i, row in enumerate(rows):
        firsts.setdefault(row[0], i)
    strongest = sorted(range(len(rows)), key=lambda i: -rows[i][3])[:MAX_KEPT_SIGNALS]
    keep = set(strongest) | set(firsts.values())
    return [row for i, row in enumerate(rows) if i in keep]


def store_log_round_trip(log: SignalLog) -> SignalLog:
    """Save and restore the log alone, its three saved values through JSON."""
    saved = orjson.loads(orjson.dumps([log.to_json(), log.count, log.saved_pairs()]))
    return SignalLog.restore(*saved)


def test_pruning_has_hysteresis_and_keeps_the_strongest_and_firsts() -> None:
    # A weak first secrecy signal in the "exclusivity" stage, later ones elsewhere.
    log = SignalLog.restore("[]", 0, [])
    log.extend([_signal(0, "secrecy", 0.01, "exclusivity"), _signal(1, "secrecy", 0.02, "exclusivity")])
    expected = [s.to_row() for s in log.signals()]
    prunes = 0
    for i in range(2, 2 + 3 * (MAX_KEPT_SIGNALS + PRUNE_SLACK)):
        signal = _signal(i, ("flattery_trust", "secrecy", "meeting")[i % 3], round((i * 37 % 101) / 100, 2))
        before = log.count
        log.extend([signal])
        expected.append(signal.to_row())
        if len(expected) > MAX_KEPT_SIGNALS + PRUNE_SLACK:
            expected = _pruned(expected)
            prunes += 1
            assert log.count < before  # pruned back, well below the limit
            assert log.pairs == {(r[0], r[5]) for r in expected}
        assert log.count == len(expected) <= MAX_KEPT_SIGNALS + PRUNE_SLACK
        if i % 97 == 0:
            log = store_log_round_trip(log)
    assert prunes >= 2
    assert log.rows == expected and [s.to_row() for s in log.signals()] == expected
    assert log.pairs == {(r[0], r[5]) for r in expected}
    assert ("secrecy", "exclusivity") in log.pairs  # secrecy's first signal, however weak
    assert [r[1] for r in expected] == sorted(r[1] for r in expected)  # message order


def test_pruning_recomputes_the_stage_pairs() -> None:
    log = SignalLog.restore("[]", 0, [])
    log.extend([_signal(0, "secrecy", 0.9, "exclusivity"), _signal(1, "secrecy", 0.01, "sexual")])
    log.extend([_signal(i, "flattery_trust", 0.5) for i in range(2, 2 + MAX_KEPT_SIGNALS + PRUNE_SLACK)])
    assert ("secrecy", "sexual") not in log.pairs  # its only signal in that stage was pruned
    assert log.pairs == {("secrecy", "exclusivity"), ("flattery_trust", "friendship_forming")}


def test_empty_and_never_saved_logs_serialise_to_json(fast_detector: Detector) -> None:
    assert SignalLog().to_json() == "[]" and SignalLog.load([]).to_json() == "[]"
    empty = fast_detector.new_conversation("e").to_dict()
    assert orjson.loads(empty["signal_rows"]) == [] and empty["signal_count"] == 0
    assert empty["signal_stages"] == []
    state, _ = feed(fast_detector, messages())
    rows = [s.to_row() for s in state._signal_log.signals()]
    assert orjson.loads(state.to_dict()["signal_rows"]) == orjson.loads(orjson.dumps(rows))
    for text in ("[]", "[ ]", json.dumps(rows[:2])):  # also text not written by orjson
        log = SignalLog.restore(text, len(json.loads(text)), [])
        log.extend([Signal(*row) for row in rows[2:4]])
        assert json.loads(log.to_json()) == json.loads(text) + json.loads(json.dumps(rows[2:4]))
        assert log.to_json() == log.to_json()  # saving twice adds nothing


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
    secret = Message("p", "2", "kid-1", "dont tell ur mum, its our secret", sender_age_band="child")
    peers.add_message(secret, recipient_age_bands=["child"])
    assert peers.risk < 0.3  # children among themselves
