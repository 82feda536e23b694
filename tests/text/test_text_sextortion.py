"""Sextortion in the streaming state (issue 19): the alert comes at the first threat, or at the
child's picture after a pics-for-pics request, and look-alikes stay below the threshold.

Fixture lines are at the level of a safeguarding leaflet ("send me a pic", "i have ur pics",
"ill send it to all ur followers"); nothing is explicit. Every name is made up."""

from __future__ import annotations

import json
import random

import pytest

from safeguard.ingest.records import Message
from safeguard.text import ConversationState, Detector
from safeguard.text.sextortion import FAST_OBTAINED_WEIGHT, OBTAINED_WEIGHT, is_attachment, seconds
from safeguard.text.signal_log import MessageAssessment

ADULT, TEEN = "adult", "teen"


def _feed(
    detector: Detector, lines: list[tuple[str, str, str]], *, start: int = 0, step: int = 60
) -> tuple[ConversationState, list[MessageAssessment]]:
    """Feed (sender, band, text) lines as the service would: each with the other side's band."""
    state = detector.new_conversation("c")
    bands = {sender: band for sender, band, _ in lines}
    out = []
    for i, (sender, band, text) in enumerate(lines):
        minute = (start + i * step) // 60
        sent_at = f"2026-03-01T{10 + minute // 60:02d}:{minute % 60:02d}:00+00:00"
        others = [b for s, b in bands.items() if s != sender]
        message = Message("c", str(i), sender, text, sent_at, band)
        out.append(state.add_message(message, recipient_age_bands=others))
    return state, out


def _sextortion(assessment: MessageAssessment) -> list:
    return [s for s in assessment.signals if s.category == "sextortion"]


def _first_alert(assessments: list[MessageAssessment]) -> int | None:
    return next((a.message_index for a in assessments if a.flagged and _sextortion(a)), None)


PLAYBOOK = [
    ("jess.fake", ADULT, "heyy saw u on insta, ur cute"),
    ("kid.k", TEEN, "lol thanks"),
    ("jess.fake", ADULT, "send me a pic 🙈 ill send u one too"),
    ("kid.k", TEEN, ""),  # the child's picture
    ("jess.fake", ADULT, "u actually sent it 😂"),
    ("jess.fake", ADULT, "i have ur followers. ill send it to all of them unless u pay $200 in gift cards"),
]


def test_alert_at_the_childs_picture_after_pics_for_pics(fast_detector: Detector) -> None:
    state, out = _feed(fast_detector, PLAYBOOK)
    assert not _sextortion(out[2])  # the request is an image request (grooming), not yet sextortion
    assert _first_alert(out) == 3
    (signal,) = _sextortion(out[3])
    assert signal.sender_id == "jess.fake" and signal.message_index == 3
    assert signal.weight == FAST_OBTAINED_WEIGHT
    assert "pics-for-pics" in signal.reason and "within 2 min of first contact" in signal.reason
    assert state.likely_groomer == "jess.fake"
    assert any(s.category == "sextortion" and s.sender_id == "jess.fake" for s in state.signals)


def test_tempo_only_strengthens_a_request_made_within_an_hour(fast_detector: Detector) -> None:
    _, slow = _feed(fast_detector, PLAYBOOK, step=40 * 60)  # the request 80 minutes in
    (signal,) = _sextortion(slow[3])
    assert signal.weight == OBTAINED_WEIGHT and "first contact" not in signal.reason
    untimed = fast_detector.new_conversation("u")
    for i, (sender, band, text) in enumerate(PLAYBOOK[:4]):
        other = [TEEN] if band == ADULT else [ADULT]
        last = untimed.add_message(Message("u", str(i), sender, text, None, band), recipient_age_bands=other)
    assert [s.weight for s in _sextortion(last)] == [OBTAINED_WEIGHT]


def test_threat_after_the_picture_is_not_excused_by_laughter(fast_detector: Detector) -> None:
    lines = [*PLAYBOOK[:4], ("jess.fake", ADULT, "pay me or i send it to ur whole school haha")]
    _, out = _feed(fast_detector, lines)
    held = [s for s in _sextortion(out[4]) if "after a child sent them a picture" in s.reason]
    assert held and held[0].sender_id == "jess.fake"
    dampened = fast_detector.extractor.extract(lines[4][2]).hits
    assert any(h.undamped and held[0].weight == round(h.undamped, 4) for h in dampened)


def test_plain_request_and_picture_is_not_sextortion(fast_detector: Detector) -> None:
    lines = [
        ("mum.k", ADULT, "clean your room please"),
        ("kid.k", TEEN, "done"),
        ("mum.k", ADULT, "send me a pic of your room"),
        ("kid.k", TEEN, ""),
        ("mum.k", ADULT, "ok listen carefully. you have 10 minutes to finish homework or the xbox goes"),
        ("kid.k", TEEN, "fine"),
    ]
    state, out = _feed(fast_detector, lines)
    assert not _sextortion(out[3])
    assert not state.flagged and not state.sextortion.holders


@pytest.mark.parametrize(
    "lines",
    [
        [  # friends joking about an embarrassing photo
            ("amy.t", TEEN, ""),
            ("amy.t", TEEN, "look what i found from year 7 lmao"),
            ("bea.r", TEEN, "delete that rn"),
            ("amy.t", TEEN, "pay me 5 quid or it goes on insta haha"),
            ("amy.t", TEEN, "i have ur pics from 2019"),
        ],
        [  # gamers threatening to expose a cheater
            ("clan.lead", TEEN, "i have the clip of u using aimbot"),
            ("cheat.er", TEEN, "thats fake"),
            ("clan.lead", TEEN, "ill expose u to the whole server cheater"),
            ("clan.lead", TEEN, "ill send the clip to everyone lol"),
        ],
        [  # selling things for gift cards, between adults
            ("seller.d", ADULT, "hi, you buy amazon gift cards?"),
            ("buyer.t", ADULT, "yes, $80 paypal for a $100 card. send a pic of the receipt"),
            ("seller.d", ADULT, ""),
            ("buyer.t", ADULT, "you have 15 minutes before the order auto cancels"),
        ],
    ],
)
def test_lookalikes_are_not_flagged(fast_detector: Detector, lines: list[tuple[str, str, str]]) -> None:
    state, _ = _feed(fast_detector, lines)
    assert not state.flagged, state.signals


def test_kept_pictures_from_an_adult_to_a_teen_is_decisive(fast_detector: Detector) -> None:
    lines = [
        ("hollow.k", ADULT, "you still have those pics on your phone right"),
        ("kid.j", TEEN, "what pics"),
        ("hollow.k", ADULT, "i kept all of them"),
    ]
    _, out = _feed(fast_detector, lines)
    assert _first_alert(out) == 2
    assert "keeps the child's pictures" in [s.reason for s in _sextortion(out[2])]
    peers = [(s, TEEN, t) for s, _, t in lines]
    state, _ = _feed(fast_detector, peers)
    assert not state.flagged


def test_explicit_threat_to_send_to_all_of_them(fast_detector: Detector) -> None:
    lines = [
        ("sophia.x", ADULT, "I have screenshot of all your followers and your family"),
        ("kid.d", TEEN, "what"),
        ("sophia.x", ADULT, "I will send your pic to all of them and make you go viral"),
    ]
    _, out = _feed(fast_detector, lines)
    assert _first_alert(out) is not None and _first_alert(out) <= 2
    assert any(s.reason == "threatens to share images" for s in _sextortion(out[2]))


def test_media_path_picture_counts(fast_detector: Detector) -> None:
    state, _ = _feed(fast_detector, PLAYBOOK[:3])
    added = state.add_image_event(
        sender_id="kid.k", sender_age_band=TEEN, recipient_age_bands=[ADULT], nudity_score=0.1
    )
    assert [s.sender_id for s in added if s.category == "sextortion"] == ["jess.fake"]
    assert state.flagged and "jess.fake" in state.sextortion.holders


def test_watch_survives_save_and_restore(fast_detector: Detector) -> None:
    state, _ = _feed(fast_detector, PLAYBOOK[:4])
    saved = json.loads(json.dumps(state.to_dict()))
    restored = fast_detector.restore_conversation(saved)
    assert restored.sextortion.holders == {"jess.fake": 3}
    assert restored.sextortion.asks == state.sextortion.asks
    assert restored.sextortion.first_at == state.sextortion.first_at
    threat = Message("c", "9", "jess.fake", "ill post it on ur story lol", None, ADULT)
    out = restored.add_message(threat, recipient_age_bands=[TEEN])
    assert any("after a child sent them a picture" in s.reason for s in _sextortion(out))
    older = {k: v for k, v in saved.items() if k != "sextortion"}  # a state saved before issue 19
    assert fast_detector.restore_conversation(older).sextortion.holders == {}


def _always_full(self: ConversationState, sender: str, **_: bool) -> None:
    self._rescore()


@pytest.mark.parametrize("seed", [4, 5])
def test_partial_rescoring_stays_exact_with_pictures_and_threats(
    fast_detector: Detector, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    lines = [
        "send me a pic 🙈 ill send u one too",
        "u wanna swap pics?",
        "",
        "",
        "lol what",
        "ill send it to all ur followers",
        "u have 10 mins",
        "how old are you",
        "im 14",
        "gg",
    ]
    bands = {f"m{i}": rng.choice([ADULT, TEEN, None]) for i in range(8)}
    messages = [
        Message("g", str(i), s, rng.choice(lines), f"2026-03-01T10:{i // 10:02d}:00+00:00", bands[s])
        for i, s in enumerate(rng.choice(list(bands)) for _ in range(200))
    ]

    def run() -> list[float]:
        state = fast_detector.new_conversation("g")
        risks = []
        for message in messages:
            state.add_message(message)
            risks.append(state.risk)
        return risks

    partial = run()
    monkeypatch.setattr(ConversationState, "_rescore_after", _always_full)
    assert run() == pytest.approx(partial, abs=1e-12)


def test_attachments_and_times() -> None:
    assert all(is_attachment(t) for t in ["", "  ", "<Media omitted>", "[image]", "image omitted"])
    assert not any(is_attachment(t) for t in ["hi", "[image] lol", "pic"])
    assert seconds("2026-03-01T10:00:00Z") == seconds("2026-03-01T10:00:00+00:00") is not None
    assert seconds("10:42") is None and seconds(None) is None and seconds("not a time") is None
