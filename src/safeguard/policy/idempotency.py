"""Idempotency keys bound to their request.

A message's key is ``(conversation_id, message_id)``. A retry of the same request
returns the stored decision; the same key with different content is not a retry:
it is refused as a conflict naming the field that differs, so a reused id can
never hand a new message someone else's decision (and skip scoring).

Only digests are kept, never the text: ``request_digest`` is
``"<recipients digest>:<text digest>"``, each the first 128 bits of a SHA-256 salted
with the key (the same text in two messages gives two digests).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

DIGEST_HEX = 32
# The fields a conflict can name, in the order they are compared.
BOUND_FIELDS = ("sender_id", "recipient_ids", "text")


def _digest(conversation_id: str, message_id: str, kind: str, value: str) -> str:
    salted = "\x1f".join((conversation_id, message_id, kind, value))
    return hashlib.sha256(salted.encode("utf-8", "surrogatepass")).hexdigest()[:DIGEST_HEX]


def request_digest(conversation_id: str, message_id: str, recipient_ids: Iterable[str], text: str) -> str:
    """The digest stored with a decision: the recipients (as a set) and the text."""
    recipients = "\x1e".join(sorted(set(recipient_ids)))
    return (
        _digest(conversation_id, message_id, "recipients", recipients)
        + ":"
        + _digest(conversation_id, message_id, "text", text)
    )


def conflicting_field(
    stored_sender_id: str,
    stored_digest: str | None,
    *,
    conversation_id: str,
    message_id: str,
    sender_id: str,
    recipient_ids: Iterable[str],
    text: str,
) -> str | None:
    """The first bound field in which a replayed request differs from the stored one, or None.

    Decisions stored before digests existed (``stored_digest`` None) are checked by
    sender only.
    """
    if stored_sender_id != sender_id:
        return "sender_id"
    if not stored_digest:
        return None
    stored_recipients, _, stored_text = stored_digest.partition(":")
    current = request_digest(conversation_id, message_id, recipient_ids, text)
    recipients, _, digest_of_text = current.partition(":")
    if stored_recipients != recipients:
        return "recipient_ids"
    if stored_text != digest_of_text:
        return "text"
    return None
