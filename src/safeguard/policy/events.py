"""What the message path takes in and gives back, and what it needs of the detector.

- :class:`MessageEvent`: a message as any door submits it (API, CLI, stream worker);
  :class:`MessageBody` and :class:`MediaHashesBody` are the JSON forms the doors
  validate (the API's request models and the stream's event models both build on them);
- :class:`Outcome`: a stored decision and whether this call created it;
- :class:`Detector` and :class:`ConversationState`: the detector interface
  (``safeguard.text`` implements it; the engine knows nothing else of it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, Field, StringConstraints

from safeguard.core.types import AgeBand, Identifier
from safeguard.ingest.records import Message

MAX_MESSAGE_TEXT_CHARS = 32_000
MAX_RECIPIENTS = 256


class ConversationState(Protocol):
    """One conversation's streaming detector state (``safeguard.text.ConversationState``).

    Optional: ``add_image_event(sender_id=, sender_age_band=, recipient_age_bands=,
    nudity_score=, message_id=, nudity_threshold=)``, returning the evidence signals it
    added (a state without it ignores images); ``add_message`` without
    ``recipient_age_bands`` (older detectors).
    """

    risk: float
    signals: Sequence[Any]
    stage: Any
    author_scores: Mapping[str, float]

    def add_message(self, message: Message, *, recipient_age_bands: Sequence[str] = ...) -> Any:
        """Score one message; returns its assessment (``risk``, ``signals`` with ``category``)."""
        ...

    def to_dict(self) -> dict:
        """The state as stored (restored with :meth:`Detector.restore_conversation`)."""
        ...


class Detector(Protocol):
    """What the engine needs of ``safeguard.text`` (see ``load_detector``)."""

    def new_conversation(self, conversation_id: str) -> Any:
        """A fresh :class:`ConversationState`."""
        ...

    def restore_conversation(self, data: dict) -> Any:
        """A :class:`ConversationState` from its ``to_dict``."""
        ...


@dataclass(frozen=True, slots=True)
class MessageEvent:
    """A message as posted to the service: the JSONL fields plus its recipients."""

    conversation_id: str
    message_id: str
    sender_id: str
    text: str
    recipient_ids: tuple[str, ...]
    sent_at: str | None = None
    sender_age_band: str | None = None

    def to_message(self) -> Message:
        """The ``ingest`` record the detector reads."""
        return Message(
            conversation_id=self.conversation_id,
            message_id=self.message_id,
            sender_id=self.sender_id,
            text=self.text,
            sent_at=self.sent_at,
            sender_age_band=self.sender_age_band,
        )


@dataclass(slots=True)
class Outcome:
    """A stored decision (JSON-ready) and whether this call created it.

    ``conflict`` names the field in which a request reusing a stored message's key
    differs from it (see ``policy.idempotency``): nothing was decided or stored, and
    ``decision`` is the stored one, for the door to refuse (HTTP 409) rather than return.
    """

    decision: dict
    created: bool
    escalation_ids: list[str] = field(default_factory=list)
    conflict: str | None = None


NoNulText = Annotated[str, StringConstraints(max_length=MAX_MESSAGE_TEXT_CHARS, pattern=r"^[^\x00]*$")]


class MessageBody(BaseModel):
    """One message: the JSONL fields plus its recipients (``POST /v1/messages``, stream entries)."""

    conversation_id: Identifier
    message_id: Identifier = Field(
        description="idempotency key, unique within the conversation: an exact repeat returns the first "
        "decision; the same key with another sender, recipients or text is refused (409)"
    )
    sender_id: Identifier
    text: NoNulText = Field(description="scored in memory, never stored or logged")
    recipient_ids: list[Identifier] = Field(min_length=1, max_length=MAX_RECIPIENTS)
    sent_at: Annotated[str, StringConstraints(max_length=64, pattern=r"^[^\x00]*$")] | None = None
    sender_age_band: AgeBand | None = None

    def to_event(self) -> MessageEvent:
        """The event the engine decides."""
        return MessageEvent(
            conversation_id=self.conversation_id,
            message_id=self.message_id,
            sender_id=self.sender_id,
            text=self.text,
            recipient_ids=tuple(self.recipient_ids),
            sent_at=self.sent_at,
            sender_age_band=self.sender_age_band,
        )


Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]+$")]


class MediaHashesBody(BaseModel):
    """A hash-only media submission, for clients that keep media on the device."""

    sender_id: str = Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")
    recipient_ids: list[
        Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]
    ] = Field(default_factory=list, max_length=MAX_RECIPIENTS)
    message_id: str | None = Field(None, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")
    pdq: Hex | None = Field(None, min_length=64, max_length=64)
    md5: Hex | None = Field(None, min_length=32, max_length=32)
    sha256: Hex | None = Field(None, min_length=64, max_length=64)
    nudity_score: float | None = Field(
        None,
        ge=0,
        le=1,
        strict=True,
        allow_inf_nan=False,
        description="nudity score in [0, 1] computed on the device (used when a child or teen "
        "account takes part)",
    )
    conversation_id: Identifier | None = Field(
        None, description="the conversation the media was sent in (its images feed the conversation's risk)"
    )
