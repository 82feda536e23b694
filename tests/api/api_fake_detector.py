"""A tiny keyword detector with the ``safeguard.text`` interface, for fast, exact tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from safeguard.ingest.records import Message

KEYWORDS = {
    "snap": ("platform_move", 0.3),
    "secret": ("secrecy", 0.3),
    "how old": ("age_location_probe", 0.2),
    "pic": ("image_request", 0.3),
    "meet": ("meeting", 0.4),
    "ESCALATE": ("coercion", 0.95),
}


@dataclass(frozen=True)
class Signal:
    category: str
    message_index: int
    excerpt: str
    weight: float


@dataclass(frozen=True)
class Assessment:
    risk: float
    signals: list[Signal]


@dataclass
class FakeState:
    conversation_id: str
    risk: float = 0.0
    count: int = 0
    signals: list[Signal] = field(default_factory=list)
    stage: str | None = None
    author_scores: dict[str, float] = field(default_factory=dict)

    @property
    def flagged(self) -> bool:
        return self.risk >= 0.5

    def add_message(self, message: Message) -> Assessment:
        fired = [
            Signal(category, self.count, word, weight)
            for word, (category, weight) in KEYWORDS.items()
            if word in message.text
        ]
        own = 1.0
        for signal in fired:
            own *= 1.0 - signal.weight
        risk = 1.0 - own
        self.risk = 1.0 - (1.0 - self.risk) * own
        self.count += 1
        self.signals.extend(fired)
        self.author_scores[message.sender_id] = max(self.author_scores.get(message.sender_id, 0.0), self.risk)
        return Assessment(risk, fired)

    def to_dict(self) -> dict:
        return {
            "conversation_id": self.conversation_id,
            "risk": self.risk,
            "count": self.count,
            "signals": [vars(s) for s in self.signals],
            "author_scores": self.author_scores,
        }


class FakeDetector:
    threshold = 0.5

    def new_conversation(self, conversation_id: str) -> FakeState:
        return FakeState(conversation_id)

    def restore_conversation(self, data: dict) -> FakeState:
        return FakeState(
            data["conversation_id"],
            data["risk"],
            data["count"],
            [Signal(**s) for s in data["signals"]],
            None,
            dict(data["author_scores"]),
        )
