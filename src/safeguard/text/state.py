"""Streaming per-conversation state: feed one message at a time, read the risk.

``safeguard scan``, the REST API and the stream workers all hold one
``ConversationState`` per conversation, so a conversation is flagged as soon as
the evidence is there rather than after the whole log is read. The state is
small (per-category evidence, the strongest signals, per-author evidence) and
serialises to JSON for the store.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from safeguard.ingest.records import Message
from safeguard.text.categories import CATEGORIES, STAGE_ORDER, Stage
from safeguard.text.scoring import (
    BREADTH_MIN_EVIDENCE,
    conversation_risk,
    embedding_excess,
    embedding_strength,
)
from safeguard.text.signals import MessageSignals

if TYPE_CHECKING:
    from safeguard.text.detector import Detector

MAX_KEPT_SIGNALS = 200
EMBEDDING_BUDGET = 24  # messages per conversation that may reach the embedding stage
EMBEDDING_MIN_MESSAGES = 4

YOUNG_BANDS = frozenset({"child", "teen"})
# Once a harmless topic (a surprise party, a game) is seen in a conversation,
# later hits of the tactics it excuses keep this share of their weight.
TOPIC_DAMPEN = 0.5
# Only secrecy is excused for a whole conversation (a surprise party is planned
# over many messages); a game lobby must not excuse a later meeting request.
CONVERSATION_TOPICS = frozenset({"secrecy"})
YOUNG_SENDER_DAMPEN = 0.5
STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class Signal:
    """A tactic found on one message: the unit of every explanation."""

    category: str
    message_index: int
    excerpt: str
    weight: float
    reason: str = ""
    stage: str = ""
    sender_id: str | None = None
    message_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class MessageAssessment:
    """What one message added: its own risk and signals, and the running risk."""

    message_index: int
    risk: float
    signals: list[Signal]
    conversation_risk: float
    stage: str
    flagged: bool


@dataclass(slots=True)
class _Evidence:
    """Noisy-OR accumulators: the product of (1 - w) per category."""

    remaining: dict[str, float] = field(default_factory=dict)
    child_remaining: float = 1.0

    def add(self, category: str, weight: float) -> None:
        self.remaining[category] = self.remaining.get(category, 1.0) * (1.0 - weight)

    def evidence(self) -> dict[str, float]:
        return {c: 1.0 - r for c, r in self.remaining.items()}


class ConversationState:
    """Running grooming risk of one conversation, updated message by message."""

    def __init__(self, detector: Detector, conversation_id: str) -> None:
        self.detector = detector
        self.conversation_id = conversation_id
        self.message_count = 0
        self.first_flagged_index: int | None = None
        self.age_bands: dict[str, str] = {}
        self.harmless_topics: set[str] = set()
        self._age_asked_by: str | None = None
        self._evidence = _Evidence()
        self._authors: dict[str, _Evidence] = {}
        self._signals: list[Signal] = []
        self.embedded_count = 0
        self.embedding_mass = 0.0
        self.embedding_remaining = 1.0
        self._model_state: dict[str, Any] = {}
        self._risk = 0.0
        self._stage: str | None = None

    # -- feeding -----------------------------------------------------------
    def add_message(
        self,
        message: Message | str,
        *,
        found: MessageSignals | None = None,
        embedding_score: float | None = None,
    ) -> MessageAssessment:
        """Score one message and update the conversation's running risk.

        ``found`` and ``embedding_score`` may be computed ahead in a batch
        (``Detector.add_messages``); otherwise they are computed here.
        """
        if isinstance(message, str):
            message = Message(self.conversation_id, str(self.message_count), "", message)
        index = self.message_count
        self.message_count += 1
        sender = message.sender_id
        if message.sender_age_band and sender:
            self.age_bands[sender] = message.sender_age_band
        if found is None:
            found = self.detector.extractor.extract(message.text)
        if (
            embedding_score is None
            and self.embedded_count < EMBEDDING_BUDGET
            and self.detector.needs_embedding(found, message.sender_age_band)
        ):
            embedding_score = self.detector.embedding_scores([message.text])[0]
        if embedding_score is not None:
            self.embedded_count += 1
            self.embedding_mass += embedding_excess(embedding_score)
            self.embedding_remaining *= 1.0 - embedding_strength(embedding_score)
        author = self._authors.setdefault(sender, _Evidence()) if sender else None
        sender_is_young = self.age_bands.get(sender) in YOUNG_BANDS
        new_signals: list[Signal] = []
        for hit in found.hits:
            weight = hit.weight
            if hit.category in self.harmless_topics:
                weight *= TOPIC_DAMPEN  # e.g. more secrecy in a chat about a surprise party
            if sender_is_young:
                weight *= YOUNG_SENDER_DAMPEN  # tactics are the groomer's; a child's words count less
            weight = round(weight, 4)
            self._evidence.add(hit.category, weight)
            if author is not None:
                author.add(hit.category, weight)
            new_signals.append(
                Signal(hit.category, index, hit.excerpt, weight, hit.reason, hit.stage,
                       sender or None, message.message_id)
            )
        self.harmless_topics |= found.harmless_topics & CONVERSATION_TOPICS
        child = found.child_context
        if self._age_asked_by is not None and self._age_asked_by != sender:
            child = max(child, self.detector.extractor.age_reply(message.text))
        self._age_asked_by = (
            sender if any(h.category == "age_location_probe" and h.reason == "asks age" for h in found.hits)
            else None
        )
        if child:
            self._evidence.child_remaining *= 1.0 - child
        self._keep(new_signals)
        self.detector.update_model_state(self, message.text, found)
        if new_signals or child or self.embedding_mass or self.detector.model is not None:
            self._risk = self.detector.conversation_score(self)
            self._stage = None
        flagged = self._risk >= self.detector.threshold
        if flagged and self.first_flagged_index is None:
            self.first_flagged_index = index
        own = 1.0
        for signal in new_signals:
            own *= 1.0 - signal.weight
        return MessageAssessment(
            message_index=index,
            risk=round(1.0 - own, 4),
            signals=new_signals,
            conversation_risk=round(self._risk, 4),
            stage=self.stage,
            flagged=flagged,
        )

    def _keep(self, new_signals: list[Signal]) -> None:
        self._signals.extend(new_signals)
        if len(self._signals) > MAX_KEPT_SIGNALS:
            # Keep the strongest signals; the first of each category stays for the timeline.
            firsts = {}
            for s in self._signals:
                firsts.setdefault(s.category, s)
            strongest = sorted(self._signals, key=lambda s: -s.weight)[:MAX_KEPT_SIGNALS]
            keep = {id(s) for s in strongest} | {id(s) for s in firsts.values()}
            self._signals = [s for s in self._signals if id(s) in keep]

    # -- reading -----------------------------------------------------------
    @property
    def evidence(self) -> dict[str, float]:
        """Per-category evidence in [0, 1] (noisy-OR of the signals' weights)."""
        return self._evidence.evidence()

    @property
    def child_context(self) -> float:
        """Evidence that a child takes part: stated ages and age bands."""
        lexical = 1.0 - self._evidence.child_remaining
        bands = set(self.age_bands.values())
        young = bands & {"child", "teen"}
        if not young:
            if bands and bands <= {"adult"}:
                return min(lexical, 0.1)
            return lexical
        others = [b for s, b in self.age_bands.items() if b not in {"child", "teen"}]
        if "adult" in others:
            return 1.0
        if others or len(self.age_bands) < 2:
            return max(lexical, 0.8)
        return max(min(lexical, 0.5), 0.25)  # children and teens among themselves

    @property
    def embedding_evidence(self) -> float:
        """Nearest-example evidence: how far the chat's messages sit closer to
        tactics than to harmless look-alikes, averaged per message (so length
        does not inflate it) over at least ``EMBEDDING_MIN_MESSAGES`` messages
        (so one close match at the start of a chat does not dominate it)."""
        return self.embedding_mass / max(self.message_count, EMBEDDING_MIN_MESSAGES)

    @property
    def risk(self) -> float:
        """Running conversation risk in [0, 1]."""
        return self._risk

    @property
    def flagged(self) -> bool:
        return self._risk >= self.detector.threshold

    @property
    def signals(self) -> list[Signal]:
        """Signals behind the score, in message order."""
        return list(self._signals)

    @property
    def stages(self) -> list[str]:
        """Every stage with real evidence, in stage order."""
        evidence = self.evidence
        reached = set()
        for signal in self._signals:
            if evidence.get(signal.category, 0.0) >= BREADTH_MIN_EVIDENCE:
                reached.add(signal.stage)
        return [s.value for s in STAGE_ORDER if s.value in reached]

    @property
    def stage(self) -> str:
        """The furthest stage reached (stages overlap; this is the latest one)."""
        if self._stage is None:
            stages = self.stages
            self._stage = stages[-1] if stages else Stage.NONE.value
        return self._stage

    @property
    def author_scores(self) -> dict[str, float]:
        """Risk attributed to each participant from the signals in their own messages."""
        child = self.child_context
        scores = {}
        for sender, ev in self._authors.items():
            band = self.age_bands.get(sender)
            score = conversation_risk(ev.evidence(), child)
            if band in {"child", "teen"}:
                score *= 0.5
            scores[sender] = round(score, 4)
        return scores

    @property
    def likely_groomer(self) -> str | None:
        """The participant whose own messages carry the most risk."""
        scores = self.author_scores
        if not scores:
            return None
        return max(scores, key=lambda s: scores[s])

    # -- persistence -------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot (the detector is not included)."""
        return {
            "version": STATE_VERSION,
            "conversation_id": self.conversation_id,
            "message_count": self.message_count,
            "first_flagged_index": self.first_flagged_index,
            "age_bands": self.age_bands,
            "harmless_topics": sorted(self.harmless_topics),
            "age_asked_by": self._age_asked_by,
            "remaining": self._evidence.remaining,
            "child_remaining": self._evidence.child_remaining,
            "authors": {
                a: {"remaining": e.remaining, "child_remaining": e.child_remaining}
                for a, e in self._authors.items()
            },
            "signals": [s.to_dict() for s in self._signals],
            "embedded_count": self.embedded_count,
            "embedding_mass": self.embedding_mass,
            "embedding_remaining": self.embedding_remaining,
            "model_state": self._model_state,
            "risk": self._risk,
        }

    @classmethod
    def from_dict(cls, detector: Detector, data: dict[str, Any]) -> ConversationState:
        """Rebuild a state saved by ``to_dict``."""
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported conversation state version {data.get('version')!r}")
        state = cls(detector, data["conversation_id"])
        state.message_count = int(data["message_count"])
        state.first_flagged_index = data.get("first_flagged_index")
        state.age_bands = dict(data.get("age_bands", {}))
        state.harmless_topics = set(data.get("harmless_topics", []))
        state._age_asked_by = data.get("age_asked_by")
        state._evidence = _Evidence(
            {c: float(v) for c, v in data["remaining"].items() if c in CATEGORIES},
            float(data["child_remaining"]),
        )
        state._authors = {
            a: _Evidence(dict(e["remaining"]), float(e["child_remaining"]))
            for a, e in data.get("authors", {}).items()
        }
        state._signals = [Signal(**s) for s in data.get("signals", [])]
        state.embedded_count = int(data.get("embedded_count", 0))
        state.embedding_mass = float(data.get("embedding_mass", 0.0))
        state.embedding_remaining = float(data.get("embedding_remaining", 1.0))
        state._model_state = dict(data.get("model_state", {}))
        state._risk = float(data.get("risk", 0.0))
        return state
