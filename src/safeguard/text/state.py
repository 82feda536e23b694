"""Streaming per-conversation state: feed one message at a time, read the risk.

``safeguard scan``, the REST API and the stream workers all hold one
``ConversationState`` per conversation, so a conversation is flagged as soon as
the evidence is there rather than after the whole log is read. The state is
small (per-category evidence, the strongest signals, per-author evidence) and
serialises to JSON for the store.

Image requests: a message in which the ``image_request`` signal fires counts as
a request for pictures. Repeated requests from an adult (any sender not in a
child or teen band) to a child or teen in the same conversation, and images
scored for nudity sent by or to a child (:meth:`ConversationState.add_image_event`),
add ``image_request`` / ``coercion`` / ``sexual_content`` evidence computed by
:func:`safeguard.media.nudity.image_request_evidence`. Only ids, age bands,
message indexes and nudity scores of these events are kept, never content.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import orjson

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
    from safeguard.media.nudity import ImageRequestEvent
    from safeguard.text.detector import Detector

MAX_KEPT_SIGNALS = 200
# Signals the log may hold past MAX_KEPT_SIGNALS before it is pruned back: a
# restored log is pruned (so parsed) once per this many new signals, not on every one.
PRUNE_SLACK = 56
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
# 3: signals saved as one JSON text of rows, with their count and (category, stage) pairs;
# 2: as a list of rows (lists in SIGNAL_FIELDS order); 1: as a list of dicts.
STATE_VERSION = 3
READABLE_STATE_VERSIONS = (1, 2, 3)
IMAGE_REQUEST = "image_request"
# An image_request hit at least this strong is a request for pictures; a hit a
# harmless context dampened ("send me a pic of the receipt") is not.
REQUEST_MIN_WEIGHT = 0.3
MAX_IMAGE_EVENTS = 64  # image events kept per conversation (the most recent; evidence saturates well before)


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

    def to_row(self) -> list[Any]:
        """The saved form: the fields in ``SIGNAL_FIELDS`` order (no repeated key names)."""
        return [
            self.category,
            self.message_index,
            self.excerpt,
            self.weight,
            self.reason,
            self.stage,
            self.sender_id,
            self.message_id,
        ]

    def to_dict(self) -> dict[str, Any]:
        # By hand: dataclasses.asdict deep-copies each field, a tenth of the engine's time per message.
        return {
            "category": self.category,
            "message_index": self.message_index,
            "excerpt": self.excerpt,
            "weight": self.weight,
            "reason": self.reason,
            "stage": self.stage,
            "sender_id": self.sender_id,
            "message_id": self.message_id,
        }


SIGNAL_FIELDS = (
    "category",
    "message_index",
    "excerpt",
    "weight",
    "reason",
    "stage",
    "sender_id",
    "message_id",
)
_CATEGORY, _WEIGHT, _STAGE = 0, 3, 5  # positions in a saved row


class _SignalLog:
    """The kept signals of a conversation, held in their saved (row) form.

    The service restores and saves a conversation's state for every batch of
    its messages, and a message needs only to append rows, count them and know
    the (category, stage) pairs seen. So a restored log keeps the saved rows as
    their JSON text, unparsed, plus the rows added since; saving splices the new
    rows into that text. The text is parsed only when the rows are read (the
    ``signals`` objects, explanations, case evidence) or pruned. Rows are lists
    rather than dicts: a long conversation's saved state is about half the size.

    Pruning has hysteresis: once the log holds more than ``MAX_KEPT_SIGNALS +
    PRUNE_SLACK`` rows it keeps the strongest ``MAX_KEPT_SIGNALS`` and each
    category's first, in message order.
    """

    __slots__ = ("_count", "_new", "_objects", "_pairs", "_rows", "_text")

    def __init__(self) -> None:
        # Every row is parse(_text) + _new while _text is set, and _rows once parsed.
        self._text: str | None = "[]"  # None: dump _rows (after a prune, or rows saved as lists)
        self._new: list[list[Any]] = []
        self._rows: list[list[Any]] | None = []
        self._count = 0
        self._pairs: set[tuple[str, str]] = set()
        self._objects: list[Signal] | None = None

    @classmethod
    def load(cls, saved: list[Any]) -> _SignalLog:
        """Rows saved as a list by state versions 1 (dicts) and 2 (lists)."""
        log = cls()
        log._set_rows(
            [[row.get(f) for f in SIGNAL_FIELDS] if isinstance(row, dict) else list(row) for row in saved]
        )
        return log

    @classmethod
    def restore(cls, text: str, count: int, pairs: Iterable[Sequence[str]]) -> _SignalLog:
        """Rows saved as JSON text (state version 3), left unparsed."""
        log = cls()
        log._text = text
        log._rows = None
        log._count = count
        log._pairs = {(c, s) for c, s in pairs}
        return log

    def _set_rows(self, rows: list[list[Any]]) -> None:
        self._rows = rows
        self._text = None
        self._new = []
        self._count = len(rows)
        self._pairs = {(str(r[_CATEGORY]), str(r[_STAGE])) for r in rows}

    @property
    def parsed(self) -> bool:
        """Whether the rows are held as lists (built or parsed), not only as saved text."""
        return self._rows is not None

    @property
    def rows(self) -> list[list[Any]]:
        """Every kept row, in message order (parses the saved text)."""
        if self._rows is None:
            self._rows = orjson.loads(self._text or "[]")
            self._rows.extend(self._new)
        return self._rows

    @property
    def count(self) -> int:
        """How many rows are kept (known without parsing)."""
        return self._count

    @property
    def pairs(self) -> set[tuple[str, str]]:
        """The distinct (category, stage) of the kept rows."""
        return self._pairs

    def extend(self, signals: list[Signal]) -> None:
        """Add new signals; past the limit and its slack prune (see the class docstring)."""
        if not signals:
            return
        new = [s.to_row() for s in signals]
        if self._text is not None:
            self._new.extend(new)
        if self._rows is not None:
            self._rows.extend(new)
        if self._objects is not None:
            self._objects.extend(signals)
        self._count += len(new)
        self._pairs.update((str(s.category), str(s.stage)) for s in signals)
        if self._count > MAX_KEPT_SIGNALS + PRUNE_SLACK:
            self._prune()

    def _prune(self) -> None:
        """Keep the strongest ``MAX_KEPT_SIGNALS`` and each category's first."""
        rows = self.rows
        firsts: dict[str, int] = {}
        for i, row in enumerate(rows):
            firsts.setdefault(row[_CATEGORY], i)
        strongest = sorted(range(len(rows)), key=lambda i: -rows[i][_WEIGHT])
        keep = set(strongest[:MAX_KEPT_SIGNALS]) | set(firsts.values())
        if self._objects is not None:
            self._objects = [s for i, s in enumerate(self._objects) if i in keep]
        self._set_rows([row for i, row in enumerate(rows) if i in keep])

    def to_json(self) -> str:
        """The rows as a JSON array (``orjson.dumps(rows)``); old rows are not parsed."""
        if self._text is None:
            self._text = orjson.dumps(self._rows).decode()
        elif self._new:
            added = orjson.dumps(self._new).decode()
            head = self._text.rstrip()[:-1].rstrip()  # the saved array without its "]"
            self._text = head + ("" if head.endswith("[") else ",") + added[1:]
            self._new = []
        return self._text

    def saved_pairs(self) -> list[list[str]]:
        """The (category, stage) pairs as saved: sorted 2-lists."""
        return [[c, s] for c, s in sorted(self._pairs)]

    def signals(self) -> list[Signal]:
        """The kept signals as objects, in message order."""
        if self._objects is None:
            self._objects = [Signal(*row) for row in self.rows]
        return self._objects


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
        self._signal_log = _SignalLog()
        self.embedded_count = 0
        self.embedding_mass = 0.0
        self.embedding_remaining = 1.0
        self._model_state: dict[str, Any] = {}
        self._risk = 0.0
        self._stage: str | None = None
        # Image requests and images (see the module docstring); the evidence and
        # signals derived from them are recomputed from the events, never stored.
        self._image_events: list[ImageRequestEvent] = []
        self._party_bands: dict[str, str] = {}  # bands the service knows (stored accounts)
        self.recipient_bands: set[str] = set()  # known bands of accounts messages were sent to
        self._image_signals: list[Signal] = []
        self._image_evidence: dict[str, float] = {}
        self.nudity_threshold: float | None = None  # the deployment's, once an image was recorded

    # -- feeding -----------------------------------------------------------
    def add_message(
        self,
        message: Message | str,
        *,
        found: MessageSignals | None = None,
        embedding_score: float | None = None,
        recipient_age_bands: Sequence[str] | None = None,
    ) -> MessageAssessment:
        """Score one message and update the conversation's running risk.

        ``found`` and ``embedding_score`` may be computed ahead in a batch
        (``Detector.add_messages``); otherwise they are computed here.
        ``recipient_age_bands`` are the recipients' age bands when the caller
        knows them (the service's stored accounts): a child recipient is child
        context from the first message, and they decide whether a request for
        pictures was aimed at a child. Without them the recipients are taken to
        be the conversation's other participants, with the bands their own
        messages carried.
        """
        if isinstance(message, str):
            message = Message(self.conversation_id, str(self.message_count), "", message)
        index = self.message_count
        self.message_count += 1
        sender = message.sender_id
        bands_changed = False
        if message.sender_age_band and sender:
            bands_changed = self.age_bands.get(sender) != message.sender_age_band
            self.age_bands[sender] = message.sender_age_band
        if recipient_age_bands is not None and sender:
            bands_changed |= self._learn_bands(sender, recipient_age_bands)
            new = {b for b in recipient_age_bands if _known(b)} - self.recipient_bands
            if new:
                self.recipient_bands |= new
                bands_changed = True
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
        request = False
        for hit in found.hits:
            weight = hit.weight
            if hit.category == IMAGE_REQUEST and weight >= REQUEST_MIN_WEIGHT:
                request = True
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
        # Evidence work only when this message asked for pictures, or when a
        # participant's band became known while image events wait for it.
        image_changed = request and bool(sender) and self._record_request(
            sender, index, message.message_id, recipient_age_bands
        )
        image_signals: list[Signal] = []
        if image_changed or (bands_changed and self._image_events):
            image_signals = self._refresh_image_evidence()
            image_changed = True
        self.detector.update_model_state(self, message.text, found)
        if (
            new_signals or child or image_changed or self.embedding_mass
            or self.detector.model is not None
        ):
            self._risk = self.detector.conversation_score(self)
            self._stage = None
        flagged = self._risk >= self.detector.threshold
        if flagged and self.first_flagged_index is None:
            self.first_flagged_index = index
        if image_signals:
            new_signals = new_signals + image_signals
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
        from safeguard.media.nudity import ImageRequestEvent

        score = float(nudity_score)
        if not 0.0 <= score <= 1.0:
            raise ValueError(f"nudity_score must be in [0, 1], got {nudity_score!r}")
        if nudity_threshold is not None:
            if not 0.0 <= nudity_threshold <= 1.0:
                raise ValueError(f"nudity_threshold must be in [0, 1], got {nudity_threshold!r}")
            self.nudity_threshold = float(nudity_threshold)
        band = _known(sender_age_band)
        if band is not None and sender_id:
            self._party_bands[sender_id] = band
        if recipient_age_bands is not None and sender_id:
            self._learn_bands(sender_id, recipient_age_bands)
        target = (
            _target_band(recipient_age_bands) if recipient_age_bands
            else self._inferred_recipient_band(sender_id)
        )
        self._add_event(
            ImageRequestEvent(
                "image", sender_id, band, target,
                message_index=max(self.message_count - 1, 0),  # the image follows the last message
                message_id=message_id,
                nudity_score=round(score, 4),
            )
        )
        added = self._refresh_image_evidence()
        self._risk = self.detector.conversation_score(self)
        self._stage = None
        if self.flagged and self.first_flagged_index is None:
            self.first_flagged_index = max(self.message_count - 1, 0)
        return added

    # -- image requests (see the module docstring) ------------------------------
    def _participants(self) -> set[str]:
        return set(self._authors) | set(self.age_bands) | set(self._party_bands)

    def _band(self, participant: str) -> str | None:
        """A participant's band: the service's stored band first, then their messages' band."""
        return _known(self._party_bands.get(participant)) or _known(self.age_bands.get(participant))

    def _learn_bands(self, sender: str, recipient_bands: Sequence[str]) -> bool:
        """In a two-person conversation the one recipient's band is the other person's."""
        if len(recipient_bands) != 1 or (band := _known(recipient_bands[0])) is None:
            return False
        others = self._participants() - {sender}
        if len(others) != 1:
            return False
        (other,) = others
        if self._party_bands.get(other) == band:
            return False
        self._party_bands[other] = band
        return True

    def _inferred_recipient_band(self, sender: str) -> str | None:
        return _target_band(self._band(p) for p in self._participants() if p != sender)

    def _record_request(
        self, sender: str, index: int, message_id: str | None, recipient_bands: Sequence[str] | None
    ) -> bool:
        """Keep a request for pictures that may count (not from a known child, nor to known adults)."""
        from safeguard.media.nudity import ImageRequestEvent

        band = self._band(sender)
        if band in YOUNG_BANDS:
            return False
        target = (
            _target_band(recipient_bands) if recipient_bands else self._inferred_recipient_band(sender)
        )
        if target is not None and target not in YOUNG_BANDS:
            return False
        self._add_event(ImageRequestEvent("request", sender, band, target, index, message_id))
        return True

    def _add_event(self, event: ImageRequestEvent) -> None:
        self._image_events.append(event)
        del self._image_events[:-MAX_IMAGE_EVENTS]

    def _resolved(self, event: ImageRequestEvent) -> ImageRequestEvent:
        """The event with bands unknown when it was recorded filled in from what is known now."""
        if event.sender_band is not None and event.recipient_band is not None:
            return event
        return replace(
            event,
            sender_band=event.sender_band or self._band(event.sender_id),
            recipient_band=event.recipient_band or self._inferred_recipient_band(event.sender_id),
        )

    def _refresh_image_evidence(self) -> list[Signal]:
        """Recompute the image evidence from the events; returns the signals that are new."""
        from safeguard.media.nudity import image_request_evidence

        options = {} if self.nudity_threshold is None else {"threshold": self.nudity_threshold}
        result = image_request_evidence([self._resolved(e) for e in self._image_events], **options)
        before = set(self._image_signals)
        self._image_signals = [
            Signal(s.category, s.message_index, s.excerpt, s.weight, s.reason, s.stage, s.sender_id,
                   s.message_id)
            for s in result.signals
            if s.category in CATEGORIES
        ]
        self._image_evidence = {c: e for c, e in result.evidence.items() if c in CATEGORIES}
        return [s for s in self._image_signals if s not in before]

    def _keep(self, new_signals: list[Signal]) -> None:
        self._signal_log.extend(new_signals)

    # -- reading -----------------------------------------------------------
    @property
    def evidence(self) -> dict[str, float]:
        """Per-category evidence in [0, 1] (noisy-OR of the signals' weights, the
        text's and the image requests')."""
        evidence = self._evidence.evidence()
        for category, extra in self._image_evidence.items():
            evidence[category] = 1.0 - (1.0 - evidence.get(category, 0.0)) * (1.0 - extra)
        return evidence

    @property
    def image_events(self) -> list[dict[str, Any]]:
        """The image requests and images recorded (ids, bands, indexes, scores)."""
        return [e.to_dict() for e in self._image_events]

    @property
    def child_context(self) -> float:
        """Evidence that a child takes part: stated ages and age bands."""
        lexical = 1.0 - self._evidence.child_remaining
        # Senders' bands, plus the recipients' bands when the service passed them.
        known = [*self.age_bands.values(), *sorted(self.recipient_bands)]
        bands = set(known)
        young = bands & {"child", "teen"}
        if not young:
            if bands and bands <= {"adult"}:
                return min(lexical, 0.1)
            return lexical
        others = [b for b in known if b not in {"child", "teen"}]
        if "adult" in others:
            return 1.0
        if others or len(known) < 2:
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
        if not self._image_signals:
            return list(self._signal_log.signals())
        return sorted([*self._signal_log.signals(), *self._image_signals], key=lambda s: s.message_index)

    @property
    def stages(self) -> list[str]:
        """Every stage with real evidence, in stage order."""
        evidence = self.evidence
        reached = set()
        for category, stage in [
            *self._signal_log.pairs,
            *((s.category, s.stage) for s in self._image_signals),
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
        """Risk attributed to each participant from the signals in their own messages."""
        child = self.child_context
        extra: dict[str, _Evidence] = {}
        for signal in self._image_signals:
            if signal.sender_id:
                extra.setdefault(signal.sender_id, _Evidence()).add(signal.category, signal.weight)
        scores = {}
        for sender in [*self._authors, *(s for s in extra if s not in self._authors)]:
            band = self.age_bands.get(sender)
            ev = self._authors.get(sender) or _Evidence()
            if sender in extra:
                ev = _Evidence(dict(ev.remaining), ev.child_remaining)
                for category, remaining in extra[sender].remaining.items():
                    ev.remaining[category] = ev.remaining.get(category, 1.0) * remaining
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
            # Rows in SIGNAL_FIELDS order as one JSON text, unparsed on restore.
            "signal_rows": self._signal_log.to_json(),
            "signal_count": self._signal_log.count,
            "signal_stages": self._signal_log.saved_pairs(),
            "embedded_count": self.embedded_count,
            "embedding_mass": self.embedding_mass,
            "embedding_remaining": self.embedding_remaining,
            "model_state": self._model_state,
            "risk": self._risk,
            "party_bands": self._party_bands,
            "recipient_bands": sorted(self.recipient_bands),
            "image_events": [e.to_dict() for e in self._image_events],
            "nudity_threshold": self.nudity_threshold,
        }

    @classmethod
    def from_dict(cls, detector: Detector, data: dict[str, Any]) -> ConversationState:
        """Rebuild a state saved by ``to_dict``."""
        if data.get("version") not in READABLE_STATE_VERSIONS:
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
        if data["version"] < 3:
            state._signal_log = _SignalLog.load(data.get("signals", []))
        else:
            state._signal_log = _SignalLog.restore(
                data.get("signal_rows", "[]"), int(data.get("signal_count", 0)), data.get("signal_stages", ())
            )
        state.embedded_count = int(data.get("embedded_count", 0))
        state.embedding_mass = float(data.get("embedding_mass", 0.0))
        state.embedding_remaining = float(data.get("embedding_remaining", 1.0))
        state._model_state = dict(data.get("model_state", {}))
        state._risk = float(data.get("risk", 0.0))
        state._party_bands = dict(data.get("party_bands") or {})
        state.recipient_bands = set(data.get("recipient_bands") or ())
        threshold = data.get("nudity_threshold")
        state.nudity_threshold = None if threshold is None else float(threshold)
        events = data.get("image_events") or []  # absent from states saved before image requests
        if events:
            from safeguard.media.nudity import ImageRequestEvent

            state._image_events = [ImageRequestEvent(**e) for e in events][-MAX_IMAGE_EVENTS:]
            state._refresh_image_evidence()
        return state


def _known(band: str | None) -> str | None:
    """``band`` unless it is missing or ``unknown``."""
    return band if band and band != "unknown" else None


def _target_band(bands: Iterable[str | None]) -> str | None:
    """The band a request to these recipients is aimed at: a child's if any, else a
    teen's, else any other known band (None when none is known)."""
    known = [b for b in bands if _known(b)]
    for band in ("child", "teen"):
        if band in known:
            return band
    return known[0] if known else None
