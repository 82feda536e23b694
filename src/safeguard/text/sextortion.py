"""The sextortion watch of one conversation: who asked a child for pictures, who now holds one.

Financial sextortion follows one playbook (NCMEC & Thorn 2024; NCA alerts): a fake peer
offers "pics for pics" or asks for a private picture, often within an hour of first
contact; minutes after the child sends one the offender turns on them: mocks ("u actually
sent it"), shows leverage (the follower list), threatens and demands payment. None of that
needs slow accumulation. Once a child has sent a picture on such a request the asker holds
it, and their next threat, leverage, deadline or demand is the extortion itself.

So the watch keeps, per asker, their last request for pictures (its index, and the seconds
since the conversation's first message when the messages carry times), and who holds a
picture. When a young participant sends an attachment (a message with no text or a
placeholder such as ``<Media omitted>``, or an image on the media path) after a
pics-for-pics or private request (cues ``image_swap``, ``image_private``), the asker gets
``image_obtained`` evidence on the child's message, stronger when the request came within an
hour of first contact. From then on each of the holder's messages with a threat, leverage,
deadline or demand adds ``held_threat`` evidence, at the hit's weight before any dampener:
"haha" or "the server" beside it does not make it a joke. Only ids, indexes and seconds are
kept, never content.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from safeguard.text.categories import CATEGORY_STAGE, Category
from safeguard.text.images import YOUNG_BANDS
from safeguard.text.participants import TEXT_ONLY
from safeguard.text.signal_log import Signal
from safeguard.text.signals import Hit, MessageSignals

if TYPE_CHECKING:
    from safeguard.ingest.records import Message
    from safeguard.text.state import ConversationState

SEXTORTION = Category.SEXTORTION.value
STAGE = CATEGORY_STAGE[Category.SEXTORTION].value
REQUEST_CATEGORY = Category.IMAGE_REQUEST.value
REQUEST_MIN_WEIGHT = 0.3  # as ``state.REQUEST_MIN_WEIGHT``: a dampened hit is no request
SETUP_CUES = ("image_swap", "image_private")
SETUP_MIN = 0.3  # the asker's decayed pics-for-pics or private-request evidence
OBTAINED_WEIGHT = 0.8
FAST_OBTAINED_WEIGHT = 0.9
FAST_SECONDS = 3600.0  # "within an hour of first contact"
YOUNG_WORDS = 0.5  # without bands: a participant whose own words say they are a child
THREAT_CUES = frozenset(
    {
        "coercion",
        "doxxing",
        "self_harm",
        "image_threat",
        "extortion",
        "leverage",
        "image_leverage",
        "deadline",
        "payment_demand",
        "turn",
    }
)
MAX_ASKERS = 16
_ATTACHMENT = re.compile(
    r"\s*(?:<media omitted>|<attached:[^>]*>|\[(?:image|photo|picture|video|attachment|media)\]"
    r"|(?:image|photo|video) omitted)?\s*",
    re.IGNORECASE,
)


def is_attachment(text: str) -> bool:
    """Whether a message is an attachment alone: no text, or an export's media placeholder."""
    return _ATTACHMENT.fullmatch(text) is not None


def seconds(sent_at: str | None) -> float | None:
    """An ISO-8601 time as epoch seconds (None when missing or not ISO, e.g. PAN12's hh:mm)."""
    if not sent_at or len(sent_at) < 10:
        return None
    try:
        return datetime.fromisoformat(sent_at).timestamp()
    except ValueError:
        return None


class SextortionWatch:
    """Requests for pictures and who holds a child's picture, in one conversation."""

    __slots__ = ("asks", "first_at", "holders")

    def __init__(self) -> None:
        self.first_at: float | None = None  # the first message's time (first contact)
        self.asks: dict[str, list[Any]] = {}  # asker -> [index, seconds since first contact | None]
        self.holders: dict[str, int] = {}  # asker -> index of the child's picture they hold

    def asked(self, sender: str, index: int, sent_at: str | None) -> None:
        """Keep ``sender``'s latest request for pictures."""
        at = seconds(sent_at) if self.first_at is not None else None
        self.asks.pop(sender, None)
        self.asks[sender] = [index, None if at is None else round(at - self.first_at, 1)]
        while len(self.asks) > MAX_ASKERS:
            del self.asks[next(iter(self.asks))]

    def obtained(
        self, state: ConversationState, sender: str, index: int, message_id: str | None
    ) -> list[Signal]:
        """``sender`` sent an attachment: evidence on each adult who had set up a request."""
        if not young(state, sender):
            return []
        signals = []
        for asker, (asked_at, after) in list(self.asks.items()):
            participant = state._participants.get(asker)
            if (
                asker in (sender, TEXT_ONLY)
                or asker in self.holders
                or participant is None
                or young(state, asker)
            ):
                continue
            participant.decay_to(state.words)
            cues = participant.cues()
            if max(cues.get(c, 0.0) for c in SETUP_CUES) < SETUP_MIN:
                continue
            fast = after is not None and after <= FAST_SECONDS
            weight = FAST_OBTAINED_WEIGHT if fast else OBTAINED_WEIGHT
            when = f" within {max(after, 0) / 60:.0f} min of first contact" if fast else ""
            reason = f"a child sent a picture after this account's pics-for-pics or private request{when}"
            participant.add("image_obtained", weight)
            self.holders[asker] = index
            excerpt = f"(picture, after the request at message {asked_at})"
            signals.append(Signal(SEXTORTION, index, excerpt, weight, reason, STAGE, asker, message_id))
        return _keep(state, signals)

    def held_threat(
        self, state: ConversationState, found: MessageSignals, sender: str, index: int, message_id: str | None
    ) -> list[Signal]:
        """A threat, leverage, deadline or demand from someone holding a child's picture."""
        if sender not in self.holders:
            return []
        threats = [h for h in found.hits if h.cue in THREAT_CUES]
        if not threats:
            return []
        hit: Hit = max(threats, key=lambda h: h.undamped or h.weight)
        weight = round(hit.undamped or hit.weight, 4)
        state._participants[sender].add("held_threat", weight)
        reason = f"{hit.reason}, after a child sent them a picture (message {self.holders[sender]})"
        return _keep(
            state, [Signal(SEXTORTION, index, hit.excerpt, weight, reason, STAGE, sender, message_id)]
        )

    def to_dict(self) -> dict[str, Any]:
        return {"first_at": self.first_at, "asks": self.asks, "holders": self.holders}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> SextortionWatch:
        watch = cls()
        if data:
            watch.first_at = data.get("first_at")
            watch.asks = {str(k): [int(v[0]), v[1]] for k, v in (data.get("asks") or {}).items()}
            watch.holders = {str(k): int(v) for k, v in (data.get("holders") or {}).items()}
        return watch


def young(state: ConversationState, participant: str) -> bool:
    """A child or teen by band, or, with no band, by their own words."""
    band = state.band_of(participant)
    if band is not None:
        return band in YOUNG_BANDS
    entry = state._participants.get(participant)
    return entry is not None and entry.self_child >= YOUNG_WORDS


def watch_message(
    state: ConversationState, message: Message, found: MessageSignals, sender: str, index: int
) -> tuple[list[Signal], list[Signal]]:
    """One message through the watch: (signals on the sender, signals on others)."""
    watch, message_id = state.sextortion, message.message_id
    if index == 0:
        watch.first_at = seconds(message.sent_at)
    if sender == TEXT_ONLY:
        return [], []
    own = watch.held_threat(state, found, sender, index, message_id) if watch.holders else []
    requested = any(h.category == REQUEST_CATEGORY and h.weight >= REQUEST_MIN_WEIGHT for h in found.hits)
    if requested and not young(state, sender):
        watch.asked(sender, index, message.sent_at)
    others = (
        watch.obtained(state, sender, index, message_id) if watch.asks and is_attachment(message.text) else []
    )
    return own, others


def _keep(state: ConversationState, signals: list[Signal]) -> list[Signal]:
    """Count new signals in the conversation's category evidence and its signal log."""
    for signal in signals:
        state._categories.add(SEXTORTION, signal.weight)
    state._signal_log.extend(signals)
    return signals
