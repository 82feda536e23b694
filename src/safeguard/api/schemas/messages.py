"""Message events and their decisions."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from safeguard.api.schemas.common import ActionName, ReasonOut
from safeguard.policy.events import MessageBody


class MessageIn(MessageBody):
    """One message: the JSONL fields plus its recipients."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "conversation_id": "conv-42",
                    "message_id": "m-1",
                    "sender_id": "acct-a",
                    "text": "see you at practice tomorrow",
                    "recipient_ids": ["acct-b"],
                    "sent_at": "2026-01-05T17:30:00Z",
                }
            ]
        }
    )


class MessageDecisionOut(BaseModel):
    """The decision for a message, with every reason."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "action": "allow",
                    "risk": 0.02,
                    "conversation_risk": 0.03,
                    "account_risk": 0.0,
                    "reasons": [],
                    "recipient_actions": {"acct-b": "allow"},
                    "warn_recipient": None,
                    "case_id": None,
                    "support": None,
                    "platform_actions": [],
                }
            ]
        }
    )

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
