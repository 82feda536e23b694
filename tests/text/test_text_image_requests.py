"""Image requests in the conversation state: an adult's repeated requests for pictures
to a child raise ``image_request`` / ``coercion`` risk; images scored for nudity sent by
or to a child feed the same evidence (``safeguard.media.nudity.image_request_evidence``).

Only words and stub nudity scores: no image is involved.
"""

from __future__ import annotations

import json

import pytest

from safeguard.ingest.records import Message
from safeguard.media import nudity
from safeguard.text import ConversationState, Detector

REQUESTS = [
    "send me a pic",
    "send me a pic of you",
    "send me a selfie",
    "show me a photo of yourself",
    "send me another pic",
    "can u send me a picture",
]


def chat(
    state: ConversationState,
    n: int,
    *,
    asker: tuple[str, str | None] = ("a", "adult"),
    other: tuple[str, str | None] = ("k", "child"),
    service_bands: tuple[str, str] | None = None,
) -> list:
    """``n`` requests from ``asker``, each answered by ``other``; returns the asker's assessments.

    ``service_bands`` = (asker's, other's) stored bands, passed as recipient bands
    the way the service engine does.
    """
    out = []
    cid = state.conversation_id
    for i in range(n):
        kw = {} if service_bands is None else {"recipient_age_bands": [service_bands[1]]}
        request = Message(cid, f"{cid}-a{i}", asker[0], REQUESTS[i % 6], None, asker[1])
        out.append(state.add_message(request, **kw))
        kw = {} if service_bands is None else {"recipient_age_bands": [service_bands[0]]}
        state.add_message(Message(cid, f"{cid}-o{i}", other[0], "no", None, other[1]), **kw)
    return out


def text_only(detector: Detector, monkeypatch: pytest.MonkeyPatch, build) -> ConversationState:  # type: ignore[no-untyped-def]
    """The same conversation with image requests switched off (no message counts as one)."""
    with monkeypatch.context() as mp:
        mp.setattr("safeguard.text.state.REQUEST_MIN_WEIGHT", 2.0)
        return build(detector)


def test_repeated_adult_requests_to_a_child_raise_image_request_and_coercion(
    fast_detector: Detector, monkeypatch: pytest.MonkeyPatch
) -> None:
    def build(detector: Detector) -> ConversationState:
        state = detector.new_conversation("c")
        chat(state, 6)
        return state

    state, baseline = build(fast_detector), text_only(fast_detector, monkeypatch, build)
    assert "coercion" not in baseline.evidence
    assert state.evidence["coercion"] == pytest.approx(1 - 0.75**4)
    assert state.evidence["image_request"] > baseline.evidence["image_request"]
    # Over the service's default hold threshold; an adult asking a child for pictures six
    # times is enough on its own words too, so the events can only add to it.
    assert state.risk > 0.6 and state.risk >= baseline.risk
    extra = [s for s in state.signals if not s.excerpt]
    assert {s.category for s in extra} == {"image_request", "coercion"}
    assert all(s.sender_id == "a" and s.message_index == 10 and s.message_id == "c-a5" for s in extra)
    reasons = sorted(s.reason for s in extra)
    assert reasons == ["asked a child for images 6 times", "kept asking a child for images (6 requests)"]
    assert state.author_scores["a"] > state.author_scores["k"]
    assert state.likely_groomer == "a"


def test_the_message_that_adds_evidence_reports_it(fast_detector: Detector) -> None:
    state = fast_detector.new_conversation("c")
    steps = chat(state, 3)
    assert [s.category for s in steps[0].signals] == ["image_request"]  # the text's own signal
    assert sorted(s.category for s in steps[1].signals) == ["image_request", "image_request"]
    assert sorted(s.category for s in steps[2].signals) == ["coercion", "image_request", "image_request"]


def test_one_request_alone_adds_nothing(fast_detector: Detector, monkeypatch: pytest.MonkeyPatch) -> None:
    def build(detector: Detector) -> ConversationState:
        state = detector.new_conversation("c")
        chat(state, 1)
        return state

    state = build(fast_detector)
    assert state.evidence == text_only(fast_detector, monkeypatch, build).evidence
    assert all(s.excerpt for s in state.signals)
    assert len(state.image_events) == 1  # kept, in case more follow


@pytest.mark.parametrize(
    ("asker", "other"),
    [(("k1", "child"), ("k2", "child")), (("t", "teen"), ("k", "child")), (("a1", "adult"), ("a2", "adult"))],
)
def test_children_among_themselves_or_adults_add_nothing(
    fast_detector: Detector, monkeypatch: pytest.MonkeyPatch, asker: tuple, other: tuple
) -> None:
    def build(detector: Detector) -> ConversationState:
        state = detector.new_conversation("c")
        chat(state, 6, asker=asker, other=other)
        return state

    state = build(fast_detector)
    assert state.evidence == text_only(fast_detector, monkeypatch, build).evidence
    assert "coercion" not in state.evidence
    # Nothing that could ever count is kept: only a request made before the other spoke.
    assert all(e["recipient_band"] is None for e in state.image_events)
    assert len(state.image_events) == (0 if asker[1] in ("child", "teen") else 1)


def test_service_bands_without_bands_in_the_messages(fast_detector: Detector) -> None:
    """The engine passes the recipients' stored bands; messages carry none."""
    adult_child = fast_detector.new_conversation("ac")
    chat(adult_child, 4, asker=("a", None), other=("k", None), service_bands=("adult", "child"))
    assert adult_child.evidence["coercion"] == pytest.approx(1 - 0.75**2)
    # Two children: the second child's replies tell the state the first is a child too.
    kids = fast_detector.new_conversation("kk")
    chat(kids, 4, asker=("k1", None), other=("k2", None), service_bands=("child", "child"))
    assert "coercion" not in kids.evidence
    assert kids.author_scores["k1"] < adult_child.author_scores["a"]
    adults = fast_detector.new_conversation("aa")
    chat(adults, 4, asker=("a1", None), other=("a2", None), service_bands=("adult", "adult"))
    assert "coercion" not in adults.evidence and adults.image_events == []


def test_requests_before_the_child_speaks_count_once_the_band_is_known(fast_detector: Detector) -> None:
    state = fast_detector.new_conversation("c")
    for i in range(3):
        state.add_message(Message("c", f"a{i}", "a", REQUESTS[i], None, "adult"))
    assert "coercion" not in state.evidence  # nobody else has spoken: the recipient is unknown
    before = state.risk
    step = state.add_message(Message("c", "k0", "k", "who is this", None, "child"))
    assert state.evidence["coercion"] == pytest.approx(0.25)
    assert "coercion" in {s.category for s in step.signals}
    assert state.risk > before


def test_a_dampened_request_is_not_a_request(fast_detector: Detector) -> None:
    state = fast_detector.new_conversation("c")
    for i in range(4):
        state.add_message(Message("c", f"a{i}", "a", "send me a pic of the receipt", None, "adult"))
        state.add_message(Message("c", f"k{i}", "k", "ok", None, "child"))
    assert state.image_events == [] and "coercion" not in state.evidence


def test_nudity_sent_by_a_child_after_requests_is_coercion_on_the_asker(fast_detector: Detector) -> None:
    state = fast_detector.new_conversation("c")
    chat(state, 2)
    before = state.risk
    added = state.add_image_event(
        sender_id="k", sender_age_band="child", recipient_age_bands=["adult"], nudity_score=0.93,
        message_id="img-1",
    )
    assert [(s.category, s.sender_id, s.message_id, s.weight) for s in added] == [
        ("coercion", "a", "img-1", 0.5)
    ]
    assert state.evidence["coercion"] == pytest.approx(0.5)
    assert state.risk > before
    assert state.image_events[-1] == {
        "kind": "image", "sender_id": "k", "sender_band": "child", "recipient_band": "adult",
        "message_index": 3, "message_id": "img-1", "nudity_score": 0.93,
    }


def test_nudity_to_a_child_is_sexual_content_and_low_scores_add_nothing(fast_detector: Detector) -> None:
    state = fast_detector.new_conversation("c")
    state.add_message(Message("c", "1", "a", "hi", None, "adult"))
    state.add_message(Message("c", "2", "k", "hi", None, "child"))
    assert state.add_image_event(
        sender_id="a", sender_age_band="adult", recipient_age_bands=["child"], nudity_score=0.1
    ) == []
    assert state.evidence == {}
    added = state.add_image_event(
        sender_id="a", sender_age_band="adult", recipient_age_bands=None, nudity_score=0.9  # inferred: "k"
    )
    assert [(s.category, s.sender_id) for s in added] == [("sexual_content", "a")]
    assert state.evidence["sexual_content"] == pytest.approx(0.8)
    with pytest.raises(ValueError, match="nudity_score"):
        state.add_image_event(
            sender_id="a", sender_age_band="adult", recipient_age_bands=[], nudity_score=1.5
        )


def test_round_trip_keeps_events_but_no_content(fast_detector: Detector) -> None:
    original = fast_detector.new_conversation("c")
    chat(original, 3, asker=("a", None), other=("k", None), service_bands=("adult", "child"))
    original.add_image_event(
        sender_id="k", sender_age_band="child", recipient_age_bands=["adult"], nudity_score=0.7
    )
    saved = json.loads(json.dumps(original.to_dict()))
    events = saved["image_events"]
    assert {e["kind"] for e in events} == {"request", "image"}
    assert all(set(e) == {"kind", "sender_id", "sender_band", "recipient_band", "message_index", "message_id",
                          "nudity_score"} for e in events)
    assert not any(text in json.dumps(events) for text in REQUESTS)
    restored = fast_detector.restore_conversation(saved)
    assert restored.to_dict() == original.to_dict()
    assert restored.evidence == original.evidence and restored.signals == original.signals
    assert restored.author_scores == original.author_scores
    for i in range(3, 5):  # both go on identically
        message = Message("c", f"x{i}", "a", REQUESTS[i], None, None)
        assert original.add_message(message, recipient_age_bands=["child"]) == restored.add_message(
            message, recipient_age_bands=["child"]
        )
    assert restored.to_dict() == original.to_dict()


def test_states_saved_before_image_requests_still_load(fast_detector: Detector) -> None:
    state = fast_detector.new_conversation("old")
    state.add_message(Message("old", "1", "a", "send me a pic", None, "adult"))
    saved = state.to_dict()
    del saved["image_events"], saved["party_bands"]
    restored = ConversationState.from_dict(fast_detector, saved)
    assert restored.image_events == [] and restored.risk == state.risk
    restored.add_message(Message("old", "2", "k", "no", None, "child"))
    restored.add_message(Message("old", "3", "a", "send me a pic of you", None, "adult"))
    assert restored.evidence["image_request"] > state.evidence["image_request"]


def test_evidence_work_only_when_a_request_fired_or_events_exist(
    fast_detector: Detector, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = nudity.image_request_evidence

    def counting(events, **kw):  # type: ignore[no-untyped-def]
        calls.append(len(events))
        return real(events, **kw)

    monkeypatch.setattr(nudity, "image_request_evidence", counting)
    state = fast_detector.new_conversation("c")
    for i, text in enumerate(["hey", "how was school", "add me on snap", "lol", "gg"]):
        sender, band = ("a", "adult") if i % 2 else ("k", "child")
        state.add_message(Message("c", str(i), sender, text, None, band))
    assert calls == []
    state.add_message(Message("c", "r", "a", "send me a pic", None, "adult"))
    assert calls == [1]


def test_scan_results_explain_the_image_evidence(fast_detector: Detector) -> None:
    messages = []
    for i in range(4):
        messages.append(Message("s", f"a{i}", "a", REQUESTS[i], None, "adult"))
        messages.append(Message("s", f"k{i}", "k", "no", None, "child"))
    (result,) = list(fast_detector.scan_messages(messages))
    body = result.to_dict()
    assert body["categories"]["coercion"] > 0
    assert any(s["reason"] == "kept asking a child for images (4 requests)" and s["sender_id"] == "a"
               for s in body["signals"])


def test_kept_image_events_are_bounded(fast_detector: Detector) -> None:
    from safeguard.text.images import MAX_IMAGE_EVENTS

    state = fast_detector.new_conversation("long")
    chat(state, MAX_IMAGE_EVENTS + 20)
    assert len(state.image_events) == MAX_IMAGE_EVENTS
    assert state.image_events[-1]["message_id"] == f"long-a{MAX_IMAGE_EVENTS + 19}"
    assert state.evidence["coercion"] > 0.99
