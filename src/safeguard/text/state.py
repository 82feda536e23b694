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

from collections.abc import Sequence
from typing import Any

from safeguard.ingest.records import Message
from safeguard.text.categories import STAGE_ORDER, Stage
from safeguard.text.images import YOUNG_BANDS, ImageEvents, known_band, target_band
from safeguard.text.participants import TEXT_ONLY, Evidence, Participant, make_room
from safeguard.text.scorer import Scorer
from safeguard.text.scoring import BREADTH_MIN_EVIDENCE, Context, author_logit, noisy_or, sigmoid
from safeguard.text.sextortion import SextortionWatch, watch_message
from safeguard.text.signal_log import MessageAssessment, Signal, SignalLog
from safeguard.text.signals import MessageSignals
from safeguard.text.surroundings import Surroundings

EMBEDDING_BUDGET = 24  # messages per conversation that may reach the embedding stage
EMBEDDING_MIN_MESSAGES = 4
# A group chat with hundreds of members keeps the evidence of this many of them (the
# weakest is forgotten when another joins), so a message costs the same in any group.
MAX_TRACKED_PARTICIPANTS = 16
# Once a harmless topic (a surprise party, a game) is seen in a conversation,
# later hits of the tactics it excuses keep this share of their weight.
TOPIC_DAMPEN = 0.35
# Only secrecy is excused for a whole conversation (a surprise party is planned
# over many messages); a game lobby must not excuse a later meeting request.
CONVERSATION_TOPICS = frozenset({"secrecy"})
YOUNG_SENDER_DAMPEN = 0.5  # tactics are the groomer's; a child's own words count less
IMAGE_REQUEST = "image_request"
# An image_request hit at least this strong is a request for pictures; a hit a
# harmless context dampened ("send me a pic of the receipt") is not.
REQUEST_MIN_WEIGHT = 0.3
# The cue image evidence (media path) counts as, by category.
IMAGE_CUES = {"image_request": "image", "coercion": "coercion", "sexual_content": "sexual"}


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
        self._categories = Evidence()  # per category, for explanations and stages
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
        self.sextortion = SextortionWatch()  # who asked a child for pictures, who holds one
        # Contexts change only when ages, a child's own words or bands do: kept until then.
        self._contexts: dict[str, Context] = {}
        self._surroundings: Surroundings | None = None
        self.context_signature: list[Any] | None = None  # at the last full rescore
        self._others_band_changed = False

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

        ``found``, ``embedding_score`` and ``similarity`` may be computed ahead in a batch
        (``Detector.add_messages``; a negative similarity: not needed). ``recipient_age_bands``
        are the recipients' bands when the service knows them: an adult writing to a child is
        child presence from the first message, and they decide whether a request for pictures
        was aimed at a child. Without them the recipients are the other participants, with the
        bands their own messages carried.
        """
        if isinstance(message, str):
            message = Message(self.conversation_id, str(self.message_count), "", message)
        index = self.message_count
        self.message_count += 1
        sender = message.sender_id or TEXT_ONLY
        bands_changed = self._learn(sender, message.sender_age_band, recipient_age_bands)
        if found is None:
            found = self.detector.extractor.extract(message.text)
        embedded = self._embed(message, found, embedding_score)
        joined = sender not in self._participants
        participant = self._participant(sender)
        participant.decay_to(self.words)
        closer = self._measure_similarity(participant, message, found, similarity)
        new_signals = self._add_hits(found, participant, sender, index, message.message_id)
        child = self._take_age_evidence(participant, found, sender, message.text)
        if child or found.stated_ages or bands_changed:
            self._forget_contexts()
        self.words += message.text.count(" ") + 1
        held, obtained = watch_message(self, message, found, sender, index)
        image_signals, image_changed = self._image_requests(
            found, sender, index, message.message_id, recipient_age_bands, bands_changed
        )
        self.detector.update_model_state(self, message.text, found)
        new_signals += held
        everyone = image_changed or embedded or bool(obtained)
        moved = joined or bool(child or found.stated_ages) or bands_changed
        self._rescore_after(sender, everyone=everyone, moved=moved, own=bool(new_signals) or closer)
        flagged = self._risk >= self.detector.threshold
        if flagged and self.first_flagged_index is None:
            self.first_flagged_index = index
        new_signals += image_signals + obtained
        return MessageAssessment(
            message_index=index,
            risk=round(noisy_or(s.weight for s in new_signals), 4),
            signals=new_signals,
            conversation_risk=round(self._risk, 4),
            stage=self.stage,
            flagged=flagged,
        )

    def _embed(self, message: Message, found: MessageSignals, score: float | None) -> bool:
        """The sentence-model stage (opt-in): True when this message was embedded."""
        wanted = score is None and self.embedded_count < EMBEDDING_BUDGET
        if wanted and self.detector.needs_embedding(found, message.sender_age_band):
            score = self.detector.embedding_scores([message.text])[0]
        if score is None:
            return False
        from safeguard.text.banks import embedding_excess, embedding_strength

        self.embedded_count += 1
        self.embedding_mass += embedding_excess(score)
        self.embedding_remaining *= 1.0 - embedding_strength(score)
        return True

    def _measure_similarity(
        self, participant: Participant, message: Message, found: MessageSignals, similarity: float | None
    ) -> bool:
        """Count the message's closeness to the tactic bank; True when it raised the
        participant's (a negative ``similarity``: the caller decided it was not needed)."""
        sender = message.sender_id or TEXT_ONLY
        if similarity is None and self.detector.wants_similarity(message.text, self.band_of(sender)):
            similarity = float(self.detector.similarity_scores([message.text])[0])
        if similarity is None or similarity < 0:
            return False
        before = participant.similarity
        # A message about a harmless topic ("a pic of the cake") reads like a tactic
        # to a bag of words: it counts for the same share as its dampened hits.
        excused = any(h.category in found.harmless_topics for h in found.hits)
        participant.add_similarity(similarity, TOPIC_DAMPEN if excused else 1.0)
        return participant.similarity > before

    def _take_age_evidence(
        self, participant: Participant, found: MessageSignals, sender: str, text: str
    ) -> float:
        """What the message says about its writer's age; returns its child evidence."""
        child = self._child_words(found, sender, text)
        if child and self.band_of(sender) != "adult":
            # The strongest statement counts, not their number: mentioning homework
            # twenty times in a long chat does not make anyone more of a child.
            participant.child_remaining = min(participant.child_remaining, 1.0 - child)
        if found.stated_ages:
            participant.add_ages(found.stated_ages)
        return child

    def _image_requests(
        self,
        found: MessageSignals,
        sender: str,
        index: int,
        message_id: str | None,
        recipient_bands: Sequence[str] | None,
        bands_changed: bool,
    ) -> tuple[list[Signal], bool]:
        """Record a request for pictures; the image evidence's new signals, and whether it changed."""
        request = any(h.category == IMAGE_REQUEST and h.weight >= REQUEST_MIN_WEIGHT for h in found.hits)
        changed = (
            request
            and sender != TEXT_ONLY
            and self.images.record_request(
                sender, index, message_id, recipient_bands, self.band_of, self._everyone()
            )
        )
        if changed or (bands_changed and self.images.events):
            return self.images.refresh(self.band_of, self._everyone()), True
        return [], False

    def _learn(self, sender: str, band: str | None, recipient_bands: Sequence[str] | None) -> bool:
        """Take in the age bands this message carries; True when one became known."""
        changed = self._others_band_changed = False
        if band and sender:
            changed = self.age_bands.get(sender) != band
            self.age_bands[sender] = band
        if recipient_bands is not None and sender:
            everyone = self._everyone() | {sender}
            self._others_band_changed = self.images.learn_bands(sender, recipient_bands, everyone)
            changed |= self._others_band_changed
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
        self._forget_contexts()
        if recipient_age_bands is not None and sender_id:
            self._learn(sender_id, None, recipient_age_bands)
        target = (
            target_band(recipient_age_bands)
            if recipient_age_bands
            else target_band(self.band_of(p) for p in self._everyone() if p != sender_id)
        )
        index = max(self.message_count - 1, 0)
        self.images.record_image(sender_id, band, target, index, message_id, score)
        added = self.images.refresh(self.band_of, self._everyone())
        added += self.sextortion.obtained(self, sender_id, index, message_id)
        self._rescore()
        if self.flagged and self.first_flagged_index is None:
            self.first_flagged_index = index
        return added

    def _rescore_after(self, sender: str, *, everyone: bool, moved: bool, own: bool) -> None:
        """Rescore whom a message may have moved.

        Only the sender's own evidence moved unless someone's context did: the others'
        scores cannot have risen (their evidence is unchanged, the length penalty grows),
        and the running risk is a maximum, so rescoring the sender alone is exact.
        """
        everyone = everyone or self.detector.model is not None or self._others_band_changed
        if everyone or (moved and self._surroundings_moved()):
            self._rescore()
        elif own or moved:
            self._rescore(sender)

    def _rescore(self, author: str | None = None) -> None:
        """Raise the running risk to the conversation's score now (or ``author``'s alone)."""
        if author is None:
            score = self.detector.conversation_score(self)
        else:
            score = self.detector.author_score(self, author)
        self._risk = max(self._risk, score)
        self._stage = None

    def _surroundings_moved(self) -> bool:
        """Whether anyone's context but the sender's may have changed since the last full rescore."""
        signature = self._summary().signature(self.recipient_bands)
        moved = signature != self.context_signature
        self.context_signature = signature
        return moved

    def _forget_contexts(self) -> None:
        self._contexts.clear()
        self._surroundings = None

    # -- participants ------------------------------------------------------
    def _participant(self, sender: str) -> Participant:
        participant = self._participants.get(sender)
        if participant is None:
            make_room(self._participants, MAX_TRACKED_PARTICIPANTS)
            participant = self._participants[sender] = Participant(at_words=self.words)
            self._forget_contexts()
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
        return self._summary().context_of(author, self.recipient_bands)

    def _summary(self) -> Surroundings:
        """Everyone in the conversation, summarised once per change of bands, ages or child words."""
        if self._surroundings is None:
            self._surroundings = Surroundings.of(
                self._participants, self._everyone(), self.band_of, self._wrote_to_young
            )
        return self._surroundings

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
        return self._summary().child_presence(self.context_of, self.recipient_bands)

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
        from safeguard.text.state_io import state_to_dict

        return state_to_dict(self)

    @classmethod
    def from_dict(cls, detector: Scorer, data: dict[str, Any]) -> ConversationState:
        """Rebuild a state saved by ``to_dict`` (by this version or an earlier one)."""
        from safeguard.text.state_io import state_from_dict

        return state_from_dict(cls, detector, data)
