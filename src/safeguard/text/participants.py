"""What a conversation keeps per participant: decaying cue evidence, what their own
words say about their age, and how close their writing sits to the tactic bank."""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from safeguard.text.scoring import DECAY_PER_WORD, similarity_excess

MAX_AGES = 4  # distinct stated ages kept per participant
MIN_SIMILAR_MESSAGES = 6  # the similarity density is a mean over at least this many messages
TEXT_ONLY = ""  # the one "participant" of text without speakers
_NEGLIGIBLE = 1e-4  # decayed evidence below this is dropped from the state
# States saved before cues existed: each category's evidence read as this cue.
LEGACY_CUES = {
    "age_location_probe": "school_probe",
    "personal_info": "personal_info",
    "platform_move": "platform",
    "secrecy": "secrecy",
    "flattery_trust": "flattery",
    "isolation": "isolation",
    "gifts_money": "gifts",
    "image_request": "image",
    "sexual_content": "sexual",
    "meeting": "meeting",
    "coercion": "coercion",
}


@dataclass(slots=True)
class Evidence:
    """Noisy-OR accumulators: the product of (1 - w) per key (category or cue)."""

    remaining: dict[str, float] = field(default_factory=dict)

    def add(self, key: str, weight: float) -> None:
        self.remaining[key] = self.remaining.get(key, 1.0) * (1.0 - weight)

    def evidence(self) -> dict[str, float]:
        return {c: 1.0 - r for c, r in self.remaining.items()}


@dataclass(slots=True)
class Participant:
    """One participant's cue evidence (decaying with the conversation's words), what
    their own words say about their age, and their stated ages."""

    remaining: dict[str, float] = field(default_factory=dict)  # per cue: prod(1 - w), decayed
    at_words: float = 0.0  # the word clock ``remaining`` was last decayed to
    child_remaining: float = 1.0  # their own words that they are a child (never decays)
    ages: list[int] = field(default_factory=list)
    # Closeness of their messages to the tactic bank: the decayed sum of each measured
    # message's excess over the margin, and the decayed count of measured messages.
    similar_mass: float = 0.0
    similar_count: float = 0.0

    def decay_to(self, words: float) -> None:
        """Let the evidence fade with the words written since it was last touched."""
        delta = words - self.at_words
        self.at_words = words
        if delta <= 0:
            return
        keep = math.exp(-DECAY_PER_WORD * delta)
        self.similar_mass *= keep
        self.similar_count *= keep
        faded = {}
        for cue, remaining in self.remaining.items():
            evidence = (1.0 - remaining) * keep
            if evidence >= _NEGLIGIBLE:
                faded[cue] = 1.0 - evidence
        self.remaining = faded

    def add(self, cue: str, weight: float) -> None:
        self.remaining[cue] = self.remaining.get(cue, 1.0) * (1.0 - weight)

    def cues(self) -> dict[str, float]:
        """Evidence per cue in [0, 1], as of the last message."""
        return {c: 1.0 - r for c, r in self.remaining.items()}

    @property
    def self_child(self) -> float:
        return 1.0 - self.child_remaining

    def add_similarity(self, value: float, share: float = 1.0) -> None:
        """Count one message's similarity to the tactic bank (after ``decay_to``)."""
        self.similar_mass += share * similarity_excess(value)
        self.similar_count += 1.0

    @property
    def similarity(self) -> float:
        """How much of their recent writing sits close to the tactics, in [0, 1]: the mean
        excess over the margin, over at least ``MIN_SIMILAR_MESSAGES`` messages (so one
        close line is not a conversation, and length does not inflate it)."""
        return self.similar_mass / max(self.similar_count, MIN_SIMILAR_MESSAGES)

    @property
    def weight(self) -> float:
        """How much this participant's record holds (the weakest is forgotten first)."""
        cues = sum(1.0 - r for r in self.remaining.values())
        return cues + self.similarity + 4 * self.self_child + bool(self.ages)

    def add_ages(self, ages: Sequence[int]) -> None:
        for age in ages:
            if age not in self.ages and len(self.ages) < MAX_AGES:
                self.ages.append(age)

    def to_dict(self) -> dict[str, Any]:
        return {
            "r": self.remaining,
            "at": self.at_words,
            "c": self.child_remaining,
            "ages": self.ages,
            "sim": [self.similar_mass, self.similar_count],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Participant:
        """A record saved by :meth:`to_dict` (JSON: string keys, numbers; read on every message,
        so the cue map is taken as saved)."""
        similar = data.get("sim") or (0.0, 0.0)
        return cls(
            dict(data.get("r") or {}),
            float(data.get("at", 0.0)),
            float(data.get("c", 1.0)),
            list(data.get("ages") or ()),
            float(similar[0]),
            float(similar[1]),
        )


def make_room(participants: dict[str, Participant], limit: int) -> None:
    """When ``limit`` records are kept, forget the weakest quarter of them (at least one), so
    in a busy group the scan for the weakest is paid once every few joins, not on each."""
    if len(participants) < limit:
        return
    drop = max(1, limit // 4, len(participants) - limit + 1)
    for name in heapq.nsmallest(drop, participants, key=lambda p: participants[p].weight):
        del participants[name]


def legacy_participants(data: dict[str, Any]) -> dict[str, Participant]:
    """Participants of a state saved before cues (versions 1-3): each author's category
    evidence read as that category's usual cue, the conversation's child evidence on ``""``."""
    participants = {}
    for author, saved in (data.get("authors") or {}).items():
        remaining = {
            LEGACY_CUES[c]: float(v) for c, v in saved.get("remaining", {}).items() if c in LEGACY_CUES
        }
        participants[author or TEXT_ONLY] = Participant(remaining, float(data.get("words", 0.0)))
    child = float(data.get("child_remaining", 1.0))
    if child < 1.0:
        participants.setdefault(TEXT_ONLY, Participant()).child_remaining = child
    return participants
