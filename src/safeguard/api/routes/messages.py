"""Message events: score, decide, commit, respond (idempotent on message_id)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from safeguard.accounts.keys import KeyInfo
from safeguard.api.deps import Services, get_services, require
from safeguard.api.responses import JSON
from safeguard.api.schemas.messages import MessageDecisionOut, MessageIn
from safeguard.errors import InputError
from safeguard.policy.engine import MessageEvent

router = APIRouter(prefix="/v1", tags=["messages"])


def check_message(services: Services, body: MessageIn) -> None:
    """Limits the schema cannot express (they come from the settings)."""
    limit = services.settings.api.max_recipients
    if len(body.recipient_ids) > limit:
        raise InputError(f"at most {limit} recipients per message", field="recipient_ids")


async def decide_message(services: Services, body: MessageIn) -> tuple[dict, dict[str, str] | None]:
    """Decide a checked message once its decision is stored: (decision, response headers).

    The one handler behind ``POST /v1/messages``, for the FastAPI route and the
    hot path in ``safeguard.api.fastpath`` alike.
    """
    outcome = await services.engine.decide(
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
    if outcome.created:
        services.metrics.decisions.labels("message", outcome.decision["action"]).inc()
        return outcome.decision, None
    services.metrics.replays.inc()
    return outcome.decision, {"Idempotent-Replay": "true"}


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
    check_message(services, body)
    decision, headers = await decide_message(services, body)
    return JSON(decision, headers=headers)
