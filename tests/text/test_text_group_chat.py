"""Group chats: the streaming state rescores only whom a message moved, gives the same
running risk as rescoring everyone, and stays bounded when a group has many members."""

from __future__ import annotations

import random

import pytest

from safeguard.ingest.records import Message
from safeguard.text import ConversationState, Detector
from safeguard.text.images import MAX_IMAGE_EVENTS
from safeguard.text.state import MAX_TRACKED_PARTICIPANTS

# Ordinary group chat, stranger-chat openers, age talk and a few leaflet-level tactics.
LINES = [
    "lol did anyone finish the maths homework",
    "hey how r u",
    "how old are you?",
    "im 13",
    "ur so mature for ur age",
    "add me on snap",
    "dont tell ur mum about me, its our secret",
    "send me a pic of you",
    "i'll pick you up after school",
    "gg that match was wild",
    "brb dinner",
    "who is on tonight",
]
BANDS = [None, None, "child", "teen", "adult"]


def _group_messages(members: int, count: int, seed: int) -> list[Message]:
    rng = random.Random(seed)
    bands = {f"m{i}": rng.choice(BANDS) for i in range(members)}
    return [
        Message("group", str(i), sender, rng.choice(LINES), sender_age_band=bands[sender])
        for i, sender in enumerate(rng.choice(list(bands)) for _ in range(count))
    ]


def _always_full(self: ConversationState, sender: str, **_: bool) -> None:
    self._rescore()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_partial_rescoring_matches_rescoring_everyone(
    fast_detector: Detector, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    messages = _group_messages(members=12, count=300, seed=seed)
    fast = fast_detector.new_conversation("group")
    fast_risks = []
    for message in messages:
        fast.add_message(message)
        fast_risks.append(fast.risk)
    monkeypatch.setattr(ConversationState, "_rescore_after", _always_full)
    full = fast_detector.new_conversation("group")
    full_risks = []
    for message in messages:
        full.add_message(message)
        full_risks.append(full.risk)
    assert fast_risks == full_risks
    assert max(full_risks) > 0.0  # the chat did carry evidence to compare
    assert fast.first_flagged_index == full.first_flagged_index


def test_thousand_member_group_stays_bounded(
    fast_detector: Detector, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"author": 0}
    original = Detector.author_score

    def counting(self: Detector, state: ConversationState, author: str) -> float:
        calls["author"] += 1
        return original(self, state, author)

    monkeypatch.setattr(Detector, "author_score", counting)
    state = fast_detector.new_conversation("group")
    per_message = []
    for message in _group_messages(members=1000, count=3000, seed=7):
        before = calls["author"]
        state.add_message(message)
        per_message.append(calls["author"] - before)
    assert len(state._participants) <= MAX_TRACKED_PARTICIPANTS
    # A full rescore touches the tracked participants and the senders of the kept image
    # events, never every member; most messages touch only their sender.
    assert max(per_message) <= MAX_TRACKED_PARTICIPANTS + MAX_IMAGE_EVENTS
    assert sorted(per_message)[len(per_message) // 2] <= 1
    restored = fast_detector.restore_conversation(state.to_dict())
    assert restored.risk == state.risk
