"""Stream entries: a ``kind`` and a JSON ``data`` field, validated as the core's event bodies.

A message entry's ``data`` is a :class:`~safeguard.policy.events.MessageBody` (what
``POST /v1/messages`` takes too); a media entry's is a hash-only
:class:`~safeguard.policy.events.MediaHashesBody` plus an ``event_id`` (its
idempotency key). Media bytes never travel on the stream: clients hash first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import BaseModel, Field, ValidationError

from safeguard.core.types import Identifier
from safeguard.policy.events import MediaHashesBody, MessageBody, MessageEvent

KINDS = ("message", "media")


class InvalidEvent(ValueError):
    """An entry that can never be decided (dead-lettered at once), naming the field."""

    def __init__(self, message: str, *, field: str = "data") -> None:
        super().__init__(message)
        self.field = field


class MediaEventIn(MediaHashesBody):
    """A media event on the stream: the hash-only media body plus its idempotency key."""

    event_id: Identifier = Field(description="idempotency key of this media event")


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """A decoded entry: what to decide, its idempotency key and its partition key."""

    kind: str
    event_id: str
    key: str
    message: MessageEvent | None = None
    media: MediaEventIn | None = None


def encode_message(event: MessageEvent | MessageBody | dict) -> dict[str, str]:
    """Stream fields of a message event."""
    if isinstance(event, MessageEvent):
        body = {
            "conversation_id": event.conversation_id,
            "message_id": event.message_id,
            "sender_id": event.sender_id,
            "text": event.text,
            "recipient_ids": list(event.recipient_ids),
            "sent_at": event.sent_at,
            "sender_age_band": event.sender_age_band,
        }
    elif isinstance(event, BaseModel):
        body = event.model_dump()
    else:
        body = dict(event)
    return {"kind": "message", "data": json.dumps(body, separators=(",", ":"), ensure_ascii=False)}


def encode_media(event: MediaEventIn | dict) -> dict[str, str]:
    """Stream fields of a media (hashes) event."""
    body = event.model_dump() if isinstance(event, BaseModel) else dict(event)
    return {"kind": "media", "data": json.dumps(body, separators=(",", ":"))}


def partition_key(fields: dict[str, str]) -> str:
    """The key an entry is partitioned by, without full validation (producer side).

    An unreadable entry gets the empty key: a worker dead-letters it with the reason.
    """
    try:
        body = json.loads(fields.get("data") or "{}")
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    if fields.get("kind") == "media":
        return str(body.get("sender_id", ""))
    return str(body.get("conversation_id", ""))


def _first_error(exc: ValidationError) -> InvalidEvent:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "data"
    return InvalidEvent(f"field '{field}': {first['msg']}", field=field)


def decode_event(fields: dict[str, str]) -> StreamEvent:
    """Validate an entry; raises ``InvalidEvent`` with a one-line reason."""
    kind = fields.get("kind")
    if kind not in KINDS:
        raise InvalidEvent(f"field 'kind': expected one of {', '.join(KINDS)}, got {kind!r}", field="kind")
    raw = fields.get("data")
    if raw is None:
        raise InvalidEvent("field 'data': missing")
    try:
        if kind == "message":
            body = MessageBody.model_validate_json(raw)
        else:
            media = MediaEventIn.model_validate_json(raw)
    except ValidationError as exc:
        raise _first_error(exc) from None
    if kind == "media":
        if not (media.pdq or media.md5 or media.sha256):
            raise InvalidEvent("field 'pdq': give at least one of pdq, md5, sha256", field="pdq")
        return StreamEvent("media", media.event_id, media.sender_id, media=media)
    return StreamEvent("message", body.message_id, body.conversation_id, message=body.to_event())


def message_fields_from_line(line: str) -> dict[str, str]:
    """Stream fields of one JSONL line (a ``POST /v1/messages`` body), validated exactly
    as the worker's :func:`decode_event` will; raises ``InvalidEvent`` naming the field."""
    try:
        body = json.loads(line)
    except ValueError as exc:
        raise InvalidEvent(f"not valid JSON ({exc})", field="body") from None
    if not isinstance(body, dict):
        raise InvalidEvent("expected a JSON object", field="body")
    fields = encode_message(body)
    decode_event(fields)
    return fields
