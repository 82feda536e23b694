"""Message events and their decisions."""

from __future__ import annotations

from pydantic import BaseModel, Field

from safeguard.api.schemas.common import ActionName, ReasonOut
from safeguard.policy.events import MessageBody


class MessageIn(MessageBody):
    """One message: the JSONL fields plus its recipients."""


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
