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
    support: dict | None = Field(
        None,
        description="help for a child receiving sextortion threats or self-harm coercion: text, "
        "the region's image-removal routes, crisis lines ([support] settings); absent otherwise",
    )
    platform_actions: list[dict] = Field(
        default_factory=list,
        description="actions for the platform to apply, e.g. revoke_follower_access (sender, child, reason)",
    )
