"""Message events: score, decide, commit, respond (idempotent on message_id)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from safeguard.accounts.keys import KeyInfo
from safeguard.api.deps import Services, get_services, require
from safeguard.api.responses import JSON
from safeguard.api.schemas.messages import MessageDecisionOut, MessageIn
from safeguard.errors import InputError
from safeguard.policy.engine import MessageEvent

router = APIRouter(prefix="/v1", tags=["messages"])


@router.post(
    "/messages",
    response_model=MessageDecisionOut,
    summary="Decide one message",
    responses={200: {"headers": {"Idempotent-Replay": {"schema": {"type": "string"}}}}},
)
async def post_message(
    body: MessageIn,
    _key: KeyInfo = Depends(require("ingest")),
    services: Services = Depends(get_services),
) -> Response:
    """Score the message with its conversation's state, apply the child-safety rules and
    return the decision once it is stored. A repeated ``message_id`` returns the first
    decision (header ``Idempotent-Replay: true``)."""
    limit = services.settings.api.max_recipients
    if len(body.recipient_ids) > limit:
        raise InputError(f"at most {limit} recipients per message", field="recipient_ids")
    outcome = await asyncio.wrap_future(
        services.engine.submit(
            MessageEvent(
                conversation_id=body.conversation_id,
                message_id=body.message_id,
                sender_id=body.sender_id,
                text=body.text,
                recipient_ids=tuple(body.recipient_ids),
                sent_at=body.sent_at,
                sender_age_band=body.sender_age_band,
            )
        )
    )
    if outcome.created:
        services.metrics.decisions.labels("message", outcome.decision["action"]).inc()
        headers = None
    else:
        services.metrics.replays.inc()
        headers = {"Idempotent-Replay": "true"}
    return JSON(outcome.decision, headers=headers)
