"""Message events and their decisions."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from safeguard.api.schemas.common import ActionName, AgeBand, Identifier, ReasonOut

MAX_API_TEXT_CHARS = 32_000


class MessageIn(BaseModel):
    """One message: the JSONL fields plus its recipients."""

    conversation_id: Identifier
    message_id: Identifier = Field(
        description="idempotency key, unique within the conversation: an exact repeat returns the first "
        "decision; the same key with another sender, recipients or text is refused (409)"
    )
    sender_id: Identifier
    text: Annotated[str, StringConstraints(max_length=MAX_API_TEXT_CHARS, pattern=r"^[^\x00]*$")] = Field(
        description="scored in memory, never stored or logged"
    )
    recipient_ids: list[Identifier] = Field(min_length=1, max_length=256)
    sent_at: Annotated[str, StringConstraints(max_length=64, pattern=r"^[^\x00]*$")] | None = None
    sender_age_band: AgeBand | None = None


class MessageDecisionOut(BaseModel):
    """The decision for a message, with every reason."""

    action: ActionName
    risk: float = Field(description="this message's own risk in [0, 1]")
    conversation_risk: float
    account_risk: float = 0.0
    reasons: list[ReasonOut]
    recipient_actions: dict[str, ActionName] = Field(default_factory=dict)
    warn_recipient: str | None = Field(None, description="supportive information to show the child recipient")
    case_id: str | None = None
