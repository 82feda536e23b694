"""Requests for pictures and images in one conversation, and the evidence they add.

A message in which the ``image_request`` signal fires counts as a request for
pictures. Repeated requests from an adult (any sender not in a child or teen
band) to a child or teen, and images scored for nudity sent by or to a child
(the media path), add ``image_request`` / ``coercion`` / ``sexual_content``
evidence computed by :func:`safeguard.media.nudity.image_request_evidence`.
Only ids, age bands, message indexes and nudity scores are kept, never content.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from safeguard.text.categories import CATEGORIES
from safeguard.text.signal_log import Signal

if TYPE_CHECKING:
    from safeguard.media.nudity import ImageRequestEvent

YOUNG_BANDS = frozenset({"child", "teen"})
MAX_IMAGE_EVENTS = 64  # image events kept per conversation (the most recent; evidence saturates well before)


def known_band(band: str | None) -> str | None:
    """``band`` unless it is missing or ``unknown``."""
    return band if band and band != "unknown" else None


def target_band(bands: Iterable[str | None]) -> str | None:
    """The band a request to these recipients is aimed at: a child's if any, else a
    teen's, else any other known band (None when none is known)."""
    known = [b for b in bands if known_band(b)]
    for band in ("child", "teen"):
        if band in known:
            return band
    return known[0] if known else None


class ImageEvents:
    """The image requests and images of one conversation and the evidence derived from
    them (recomputed from the events, never stored)."""

    def __init__(self) -> None:
        self.events: list[ImageRequestEvent] = []
        self.party_bands: dict[str, str] = {}  # bands the service knows (stored accounts)
        self.nudity_threshold: float | None = None  # the deployment's, once an image was recorded
        self.signals: list[Signal] = []
        self.evidence: dict[str, float] = {}

    def band(self, participant: str, message_bands: dict[str, str]) -> str | None:
        """A participant's band: the service's stored band first, then their messages' band."""
        return known_band(self.party_bands.get(participant)) or known_band(message_bands.get(participant))

    def learn_bands(self, sender: str, recipient_bands: Sequence[str], participants: set[str]) -> bool:
        """In a two-person conversation the one recipient's band is the other person's."""
        if len(recipient_bands) != 1 or (band := known_band(recipient_bands[0])) is None:
            return False
        others = participants - {sender}
        if len(others) != 1:
            return False
        (other,) = others
        if self.party_bands.get(other) == band:
            return False
        self.party_bands[other] = band
        return True

    def record_request(
        self,
        sender: str,
        index: int,
        message_id: str | None,
        recipient_bands: Sequence[str] | None,
        band_of: Callable[[str], str | None],
        participants: set[str],
    ) -> bool:
        """Keep a request for pictures that may count (not from a known child, nor to known adults)."""
        from safeguard.media.nudity import ImageRequestEvent

        band = band_of(sender)
        if band in YOUNG_BANDS:
            return False
        target = (
            target_band(recipient_bands)
            if recipient_bands
            else target_band(band_of(p) for p in participants if p != sender)
        )
        if target is not None and target not in YOUNG_BANDS:
            return False
        self._add(ImageRequestEvent("request", sender, band, target, index, message_id))
        return True

    def record_image(
        self,
        sender_id: str,
        band: str | None,
        target: str | None,
        message_index: int,
        message_id: str | None,
        nudity_score: float,
    ) -> None:
        """Keep an image sent, with its nudity score."""
        from safeguard.media.nudity import ImageRequestEvent

        self._add(
            ImageRequestEvent(
                "image",
                sender_id,
                band,
                target,
                message_index=message_index,
                message_id=message_id,
                nudity_score=round(nudity_score, 4),
            )
        )

    def _add(self, event: ImageRequestEvent) -> None:
        self.events.append(event)
        del self.events[:-MAX_IMAGE_EVENTS]

    def refresh(self, band_of: Callable[[str], str | None], participants: set[str]) -> list[Signal]:
        """Recompute the evidence from the events; returns the signals that are new."""
        from safeguard.media.nudity import image_request_evidence

        def resolved(event: ImageRequestEvent) -> ImageRequestEvent:
            if event.sender_band is not None and event.recipient_band is not None:
                return event
            others = (band_of(p) for p in participants if p != event.sender_id)
            return replace(
                event,
                sender_band=event.sender_band or band_of(event.sender_id),
                recipient_band=event.recipient_band or target_band(others),
            )

        options = {} if self.nudity_threshold is None else {"threshold": self.nudity_threshold}
        result = image_request_evidence([resolved(e) for e in self.events], **options)
        before = set(self.signals)
        self.signals = [
            Signal(
                s.category, s.message_index, s.excerpt, s.weight, s.reason, s.stage, s.sender_id, s.message_id
            )
            for s in result.signals
            if s.category in CATEGORIES
        ]
        self.evidence = {c: e for c, e in result.evidence.items() if c in CATEGORIES}
        return [s for s in self.signals if s not in before]

    def to_dict(self) -> dict[str, Any]:
        """The saved form (merged into the conversation state's)."""
        return {
            "party_bands": self.party_bands,
            "image_events": [e.to_dict() for e in self.events],
            "nudity_threshold": self.nudity_threshold,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageEvents:
        """Rebuild from a saved conversation state (signals are recomputed by ``refresh``)."""
        images = cls()
        images.party_bands = dict(data.get("party_bands") or {})
        threshold = data.get("nudity_threshold")
        images.nudity_threshold = None if threshold is None else float(threshold)
        events = data.get("image_events") or []  # absent from states saved before image requests
        if events:
            from safeguard.media.nudity import ImageRequestEvent

            images.events = [ImageRequestEvent(**e) for e in events][-MAX_IMAGE_EVENTS:]
        return images
