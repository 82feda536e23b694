"""Streaming per-conversation state: feed one message at a time, read the risk.

``safeguard scan``, the REST API and the stream workers all hold one
``ConversationState`` per conversation, so a conversation is flagged as soon as
the evidence is there rather than after the whole log is read. The state keeps,
per participant, decaying evidence for each cue, what their own words say about
their age, and the strongest signals; it serialises to JSON for the store.

The state accumulates; it does not score. It is handed a *scorer* (the
detector) whose ``conversation_score`` reads it, so the scoring rules live in
:mod:`safeguard.text.scoring` (pure functions) and a trained model can replace
them without the state knowing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from safeguard.ingest.records import Message
from safeguard.text.categories import CATEGORIES, STAGE_ORDER, Stage
from safeguard.text.images import MAX_IMAGE_EVENTS, YOUNG_BANDS, ImageEvents, known_band, target_band
from safeguard.text.scoring import (
    BREADTH_MIN_EVIDENCE,
    DECAY_PER_WORD,
    Context,
    age_gap,
    author_logit,
    noisy_or,
    sigmoid,
    similarity_excess,
)
from safeguard.text.signal_log import MAX_KEPT_SIGNALS, PRUNE_SLACK, MessageAssessment, Signal, SignalLog
from safeguard.text.signals import MessageSignals

EMBEDDING_BUDGET = 24  # messages per conversation that may reach the embedding stage
EMBEDDING_MIN_MESSAGES = 4
# Once a harmless topic (a surprise party, a game) is seen in a conversation,
# later hits of the tactics it excuses keep this share of their weight.
TOPIC_DAMPEN = 0.35
# Only secrecy is excused for a whole conversation (a surprise party is planned
# over many messages); a game lobby must not excuse a later meeting request.
CONVERSATION_TOPICS = frozenset({"secrecy"})
YOUNG_SENDER_DAMPEN = 0.5  # tactics are the groomer's; a child's own words count less
# 4: per-participant cue evidence with a word clock; 3: signal rows as one JSON text;
# 2: signals as a list of rows; 1: as a list of dicts.
STATE_VERSION = 4
READABLE_STATE_VERSIONS = (1, 2, 3, 4)
IMAGE_REQUEST = "image_request"
# An image_request hit at least this strong is a request for pictures; a hit a
# harmless context dampened ("send me a pic of the receipt") is not.
REQUEST_MIN_WEIGHT = 0.3
MAX_AGES = 4  # distinct stated ages kept per participant
MIN_SIMILAR_MESSAGES = 6  # the similarity density is a mean over at least this many messages
TEXT_ONLY = ""  # the one "participant" of text without speakers
# The cue image evidence (media path) counts as, by category.
IMAGE_CUES = {"image_request": "image", "coercion": "coercion", "sexual_content": "sexual"}
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
_NEGLIGIBLE = 1e-4  # decayed evidence below this is dropped from the state
__all__ = [
    "MAX_IMAGE_EVENTS",
    "MAX_KEPT_SIGNALS",
    "PRUNE_SLACK",
    "ConversationState",
    "MessageAssessment",
    "Participant",
    "Signal",
]


class Scorer(Protocol):
    """What a state needs of its detector (``safeguard.text.detector.Detector``)."""

    extractor: Any
    threshold: float
    model: Any

    def needs_embedding(self, found: MessageSignals, sender_age_band: str | None = None) -> bool: ...

    def embedding_scores(self, texts: list[str]) -> list[float]: ...

    def wants_similarity(self, text: str, sender_band: str | None) -> bool: ...

    def similarity_scores(self, texts: list[str]) -> list[float]: ...

    def update_model_state(self, state: ConversationState, text: str, found: MessageSignals) -> None: ...

    def conversation_score(self, state: ConversationState) -> float: ...


@dataclass(slots=True)
class _Evidence:
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
        return cls(
            {str(k): float(v) for k, v in data.get("r", {}).items()},
            float(data.get("at", 0.0)),
            float(data.get("c", 1.0)),
            [int(a) for a in data.get("ages", [])],
            *(float(v) for v in data.get("sim", [0.0, 0.0])),
        )


class ConversationState:
    """Running grooming risk of one conversation, updated message by message."""

    def __init__(self, detector: Scorer, conversation_id: str) -> None:
        self.detector = detector
        self.conversation_id = conversation_id
        self.message_count = 0
        self.words = 0.0  # the conversation's word clock (evidence decays with it)
        self.first_flagged_index: int | None = None
        self.age_bands: dict[str, str] = {}  # bands carried by each sender's messages
        self.harmless_topics: set[str] = set()
        self._age_asked_by: str | None = None
        self._categories = _Evidence()  # per category, for explanations and stages
        self._participants: dict[str, Participant] = {}
        self._signal_log = SignalLog()
        self.embedded_count = 0
        self.embedding_mass = 0.0
        self.embedding_remaining = 1.0
        self._model_state: dict[str, Any] = {}
        self._risk = 0.0  # the highest risk reached (a conversation stays flagged)
        self._stage: str | None = None
        self.recipient_bands: set[str] = set()  # known bands of accounts messages were sent to
        self._wrote_to_young: set[str] = set()  # senders the service saw write to a child or teen
        self.images = ImageEvents()
        # Contexts change only when ages, a child's own words or bands do: kept until then.
        self._contexts: dict[str, Context] = {}

    # -- feeding -----------------------------------------------------------
    def add_message(
        self,
        message: Message | str,
        *,
        found: MessageSignals | None = None,
        embedding_score: float | None = None,
        recipient_age_bands: Sequence[str] | None = None,
        similarity: float | None = None,
    ) -> MessageAssessment:
        """Score one message and update the conversation's running risk.

        ``similarity`` (the message's closeness to the tactic bank) may also be
        computed ahead; a negative value means the batch decided it was not needed.

        ``found`` and ``embedding_score`` may be computed ahead in a batch
        (``Detector.add_messages``); otherwise they are computed here.
        ``recipient_age_bands`` are the recipients' age bands when the caller
        knows them (the service's stored accounts): an adult writing to a child
        is child presence from the first message, and they decide whether a
        request for pictures was aimed at a child. Without them the recipients
        are taken to be the conversation's other participants, with the bands
        their own messages carried.
        """
        if isinstance(message, str):
            message = Message(self.conversation_id, str(self.message_count), "", message)
        index = self.message_count
        self.message_count += 1
        sender = message.sender_id or TEXT_ONLY
        bands_changed = self._learn(sender, message.sender_age_band, recipient_age_bands)
        if found is None:
            found = self.detector.extractor.extract(message.text)
        if (
            embedding_score is None
            and self.embedded_count < EMBEDDING_BUDGET
            and self.detector.needs_embedding(found, message.sender_age_band)
        ):
            embedding_score = self.detector.embedding_scores([message.text])[0]
        if embedding_score is not None:
            from safeguard.text.banks import embedding_excess, embedding_strength

            self.embedded_count += 1
            self.embedding_mass += embedding_excess(embedding_score)
            self.embedding_remaining *= 1.0 - embedding_strength(embedding_score)
        participant = self._participant(sender)
        participant.decay_to(self.words)
        if similarity is None and self.detector.wants_similarity(message.text, self.band_of(sender)):
            similarity = float(self.detector.similarity_scores([message.text])[0])
        closer = False  # whether this message raised the participant's closeness to tactics
        if similarity is not None and similarity >= 0:  # negative: the caller skipped it
            before = participant.similarity
            # A message about a harmless topic ("a pic of the cake") reads like a tactic
            # to a bag of words: it counts for the same share as its dampened hits.
            participant.add_similarity(similarity, TOPIC_DAMPEN if found.harmless_topics else 1.0)
            closer = participant.similarity > before
        new_signals = self._add_hits(found, participant, sender, index, message.message_id)
        child = self._child_words(found, sender, message.text)
        if child and self.band_of(sender) != "adult":
            # The strongest statement counts, not their number: mentioning homework
            # twenty times in a long chat does not make anyone more of a child.
            participant.child_remaining = min(participant.child_remaining, 1.0 - child)
        if found.stated_ages:
            participant.add_ages(found.stated_ages)
        if child or found.stated_ages or bands_changed:
            self._contexts.clear()
        self.words += message.text.count(" ") + 1
        request = any(h.category == IMAGE_REQUEST and h.weight >= REQUEST_MIN_WEIGHT for h in found.hits)
        image_changed = (
            request
            and sender != TEXT_ONLY
            and self.images.record_request(
                sender, index, message.message_id, recipient_age_bands, self.band_of, self._everyone()
            )
        )
        image_signals: list[Signal] = []
        if image_changed or (bands_changed and self.images.events):
            image_signals = self.images.refresh(self.band_of, self._everyone())
            image_changed = True
        self.detector.update_model_state(self, message.text, found)
        if (
            new_signals
            or child
            or found.stated_ages
            or image_changed
            or bands_changed
            or embedding_score is not None
            or closer
            or self.detector.model is not None
        ):
            self._rescore()
        flagged = self._risk >= self.detector.threshold
        if flagged and self.first_flagged_index is None:
            self.first_flagged_index = index
        new_signals += image_signals
        return MessageAssessment(
            message_index=index,
            risk=round(noisy_or(s.weight for s in new_signals), 4),
            signals=new_signals,
            conversation_risk=round(self._risk, 4),
            stage=self.stage,
            flagged=flagged,
        )

    def _learn(self, sender: str, band: str | None, recipient_bands: Sequence[str] | None) -> bool:
        """Take in the age bands this message carries; True when one became known."""
        changed = False
        if band and sender:
            changed = self.age_bands.get(sender) != band
            self.age_bands[sender] = band
        if recipient_bands is not None and sender:
            changed |= self.images.learn_bands(sender, recipient_bands, self._everyone() | {sender})
            new = {b for b in recipient_bands if known_band(b)} - self.recipient_bands
            if new:
                self.recipient_bands |= new
                changed = True
            if YOUNG_BANDS.intersection(recipient_bands) and sender not in self._wrote_to_young:
                self._wrote_to_young.add(sender)
                changed = True
        return changed

    def _add_hits(
        self, found: MessageSignals, participant: Participant, sender: str, index: int, message_id: str | None
    ) -> list[Signal]:
        young = self.band_of(sender) in YOUNG_BANDS
        signals: list[Signal] = []
        for hit in found.hits:
            weight = hit.weight
            if hit.category in self.harmless_topics:
                weight *= TOPIC_DAMPEN  # e.g. more secrecy in a chat about a surprise party
            if young:
                weight *= YOUNG_SENDER_DAMPEN
            weight = round(weight, 4)
            participant.add(hit.cue or hit.category, weight)
            self._categories.add(hit.category, weight)
            signals.append(
                Signal(
                    hit.category,
                    index,
                    hit.excerpt,
                    weight,
                    hit.reason,
                    hit.stage,
                    sender or None,
                    message_id,
                )
            )
        self.harmless_topics |= found.harmless_topics & CONVERSATION_TOPICS
        self._signal_log.extend(signals)
        return signals

    def _child_words(self, found: MessageSignals, sender: str, text: str) -> float:
        """How strongly this message says its writer is a child (a bare age answering
        another's age question counts)."""
        child = found.child_context
        if self._age_asked_by is not None and self._age_asked_by != sender:
            child = max(child, self.detector.extractor.age_reply(text))
        asks_age = any(h.category == "age_location_probe" and h.reason == "asks age" for h in found.hits)
        self._age_asked_by = sender if asks_age else None
        return child

    def add_image_event(
        self,
        *,
        sender_id: str,
        sender_age_band: str | None,
        recipient_age_bands: Sequence[str] | None,
        nudity_score: float,
        message_id: str | None = None,
        nudity_threshold: float | None = None,
    ) -> list[Signal]:
        """Record an image sent in this conversation with its nudity score (0-1).

        An image flagged as nudity (score at or above ``nudity_threshold``, the
        deployment's setting; the detector's default when not given) sent to a
        child adds ``sexual_content`` evidence; one a child sends after an adult
        asked for pictures adds ``coercion`` evidence on the asker. Only the
        ids, bands, position and score are kept. Returns the signals this image
        added (or changed).
        """
        score = float(nudity_score)
        if not 0.0 <= score <= 1.0:
            raise ValueError(f"nudity_score must be in [0, 1], got {nudity_score!r}")
        if nudity_threshold is not None:
            if not 0.0 <= nudity_threshold <= 1.0:
                raise ValueError(f"nudity_threshold must be in [0, 1], got {nudity_threshold!r}")
            self.images.nudity_threshold = float(nudity_threshold)
        band = known_band(sender_age_band)
        if band is not None and sender_id:
            self.images.party_bands[sender_id] = band
        self._contexts.clear()
        if recipient_age_bands is not None and sender_id:
            self._learn(sender_id, None, recipient_age_bands)
        target = (
            target_band(recipient_age_bands)
            if recipient_age_bands
            else target_band(self.band_of(p) for p in self._everyone() if p != sender_id)
        )
        self.images.record_image(sender_id, band, target, max(self.message_count - 1, 0), message_id, score)
        added = self.images.refresh(self.band_of, self._everyone())
        self._rescore()
        if self.flagged and self.first_flagged_index is None:
            self.first_flagged_index = max(self.message_count - 1, 0)
        return added

    def _rescore(self) -> None:
        self._risk = max(self._risk, self.detector.conversation_score(self))
        self._stage = None

    # -- participants ------------------------------------------------------
    def _participant(self, sender: str) -> Participant:
        participant = self._participants.get(sender)
        if participant is None:
            participant = self._participants[sender] = Participant(at_words=self.words)
            self._contexts.clear()
        return participant

    def _everyone(self) -> set[str]:
        return set(self._participants) | set(self.age_bands) | set(self.images.party_bands)

    def band_of(self, participant: str) -> str | None:
        """A participant's band: the service's stored band first, then their messages' band."""
        return self.images.band(participant, self.age_bands)

    def context_of(self, author: str) -> Context:
        """What is known about the people on the other side of ``author``'s messages."""
        context = self._contexts.get(author)
        if context is None:
            context = self._contexts[author] = self._context_of(author)
        return context

    def _context_of(self, author: str) -> Context:
        me = self._participants.get(author) or Participant()
        if author == TEXT_ONLY:
            known = 1.0 if YOUNG_BANDS & self.recipient_bands else 0.0
            return Context(child=me.self_child, age_gap=age_gap(me.ages, me.ages), known_child=known)
        band = self.band_of(author)
        if band in YOUNG_BANDS:
            return Context(self_child=1.0)
        others = [p for p in self._everyone() if p != author]
        others_bands = [self.band_of(p) for p in others]
        child = noisy_or(
            self._participants[p].self_child
            for p, b in zip(others, others_bands, strict=True)
            if p in self._participants and b != "adult"
        )
        other_ages = [a for p in others if p in self._participants for a in self._participants[p].ages]
        young_other = any(b in YOUNG_BANDS for b in others_bands) or author in self._wrote_to_young
        known = (1.0 if band == "adult" else 0.8) if young_other else 0.0
        return Context(
            child=child,
            age_gap=age_gap(me.ages, other_ages),
            known_child=known,
            self_child=me.self_child if band != "adult" else 0.0,
            adults_only=bool(others) and not young_other and all(b == "adult" for b in others_bands),
        )

    def cues_of(self, author: str) -> dict[str, float]:
        """``author``'s evidence per cue, with what the media path added on their requests."""
        participant = self._participants.get(author)
        cues = participant.cues() if participant is not None else {}
        for signal in self.images.signals:
            if (signal.sender_id or TEXT_ONLY) == author:
                cue = IMAGE_CUES.get(signal.category, signal.category)
                cues[cue] = 1.0 - (1.0 - cues.get(cue, 0.0)) * (1.0 - signal.weight)
        return cues

    def authors(self) -> list[str]:
        """Everyone who wrote (text without speakers: one, ``""``) or sent an image."""
        with_images = {s.sender_id or TEXT_ONLY for s in self.images.signals}
        return [*self._participants, *sorted(with_images - set(self._participants))]

    def similarity_of(self, author: str) -> float:
        """How close ``author``'s most tactic-like messages are to the tactic bank, as of now."""
        participant = self._participants.get(author)
        return participant.similarity if participant is not None else 0.0

    def author_logit(self, author: str) -> float:
        """Log-odds that ``author`` is grooming, from their own messages, as of now."""
        return author_logit(
            self.cues_of(author), self.context_of(author), self.embedding_evidence, self.similarity_of(author)
        )

    def author_risk(self, author: str) -> float:
        """``author``'s grooming risk from their own messages, as of now (default scoring)."""
        return sigmoid(self.author_logit(author))

    # -- reading -----------------------------------------------------------
    @property
    def evidence(self) -> dict[str, float]:
        """Per-category evidence in [0, 1] (noisy-OR of the signals' weights, the
        text's and the image requests')."""
        evidence = self._categories.evidence()
        for category, extra in self.images.evidence.items():
            evidence[category] = 1.0 - (1.0 - evidence.get(category, 0.0)) * (1.0 - extra)
        return evidence

    @property
    def image_events(self) -> list[dict[str, Any]]:
        """The image requests and images recorded (ids, bands, indexes, scores)."""
        return [e.to_dict() for e in self.images.events]

    @property
    def child_context(self) -> float:
        """Evidence in [0, 1] that a child takes part: an account's band, a child's own
        words (not an adult account's), an adult's age beside a child's."""
        evidence = max(
            (self.context_of(a).presence for a in list(self._participants) or [TEXT_ONLY]), default=0.0
        )
        for participant, entry in self._participants.items():
            band = self.band_of(participant)
            if band in YOUNG_BANDS:
                return 1.0
            if band != "adult":
                evidence = max(evidence, entry.self_child)
        if YOUNG_BANDS & self.recipient_bands:
            return 1.0
        return evidence

    @property
    def embedding_evidence(self) -> float:
        """Nearest-example evidence: the messages' closeness to tactics beyond the
        harmless look-alikes, averaged per message (so length does not inflate it)
        over at least ``EMBEDDING_MIN_MESSAGES`` messages."""
        return self.embedding_mass / max(self.message_count, EMBEDDING_MIN_MESSAGES)

    @property
    def risk(self) -> float:
        """The conversation's grooming risk in [0, 1]: the highest it has reached."""
        return self._risk

    @property
    def flagged(self) -> bool:
        return self._risk >= self.detector.threshold

    @property
    def signals(self) -> list[Signal]:
        """Signals behind the score, in message order."""
        if not self.images.signals:
            return list(self._signal_log.signals())
        return sorted([*self._signal_log.signals(), *self.images.signals], key=lambda s: s.message_index)

    @property
    def stages(self) -> list[str]:
        """Every stage with real evidence, in stage order."""
        evidence = self.evidence
        reached = set()
        for category, stage in [
            *self._signal_log.pairs,
            *((s.category, s.stage) for s in self.images.signals),
        ]:
            if evidence.get(category, 0.0) >= BREADTH_MIN_EVIDENCE:
                reached.add(stage)
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
        """Risk attributed to each named participant from their own messages."""
        return {a: round(self.author_risk(a), 4) for a in self.authors() if a != TEXT_ONLY}

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
            "words": self.words,
            "first_flagged_index": self.first_flagged_index,
            "age_bands": self.age_bands,
            "harmless_topics": sorted(self.harmless_topics),
            "age_asked_by": self._age_asked_by,
            "remaining": self._categories.remaining,
            "participants": {p: e.to_dict() for p, e in self._participants.items()},
            # Rows in SIGNAL_FIELDS order as one JSON text, unparsed on restore.
            "signal_rows": self._signal_log.to_json(),
            "signal_count": self._signal_log.count,
            "signal_stages": self._signal_log.saved_pairs(),
            "embedded_count": self.embedded_count,
            "embedding_mass": self.embedding_mass,
            "embedding_remaining": self.embedding_remaining,
            "model_state": self._model_state,
            "risk": self._risk,
            "recipient_bands": sorted(self.recipient_bands),
            "wrote_to_young": sorted(self._wrote_to_young),
            **self.images.to_dict(),
        }

    @classmethod
    def from_dict(cls, detector: Scorer, data: dict[str, Any]) -> ConversationState:
        """Rebuild a state saved by ``to_dict`` (by this version or an earlier one)."""
        version = data.get("version")
        if version not in READABLE_STATE_VERSIONS:
            raise ValueError(f"unsupported conversation state version {version!r}")
        state = cls(detector, data["conversation_id"])
        state.message_count = int(data["message_count"])
        state.words = float(data.get("words", 0.0))
        state.first_flagged_index = data.get("first_flagged_index")
        state.age_bands = dict(data.get("age_bands", {}))
        state.harmless_topics = set(data.get("harmless_topics", []))
        state._age_asked_by = data.get("age_asked_by")
        state._categories = _Evidence({c: float(v) for c, v in data["remaining"].items() if c in CATEGORIES})
        if version >= 4:
            state._participants = {
                p: Participant.from_dict(e) for p, e in data.get("participants", {}).items()
            }
        else:
            state._participants = _legacy_participants(data)
        if version < 3:
            state._signal_log = SignalLog.load(data.get("signals", []))
        else:
            state._signal_log = SignalLog.restore(
                data.get("signal_rows", "[]"), int(data.get("signal_count", 0)), data.get("signal_stages", ())
            )
        state.embedded_count = int(data.get("embedded_count", 0))
        state.embedding_mass = float(data.get("embedding_mass", 0.0))
        state.embedding_remaining = float(data.get("embedding_remaining", 1.0))
        state._model_state = dict(data.get("model_state", {}))
        state._risk = float(data.get("risk", 0.0))
        state.recipient_bands = set(data.get("recipient_bands") or ())
        state._wrote_to_young = set(data.get("wrote_to_young") or ())
        state.images = ImageEvents.from_dict(data)
        if state.images.events:
            state.images.refresh(state.band_of, state._everyone())
        return state


def _legacy_participants(data: dict[str, Any]) -> dict[str, Participant]:
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
