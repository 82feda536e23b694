"""Message events: score, decide, commit, respond (idempotent on message_id)."""

from __future__ import annotations

from time import perf_counter

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from safeguard.accounts.keys import KeyInfo
from safeguard.api.deps import Services, get_services, require
from safeguard.api.responses import JSON
from safeguard.api.schemas.common import ErrorOut, error_responses
from safeguard.api.schemas.messages import MessageDecisionOut, MessageIn
from safeguard.errors import ConflictError, InputError

router = APIRouter(prefix="/v1", tags=["messages"], responses=error_responses(401, 403, 413, 422, 429))


def check_message(services: Services, body: MessageIn) -> None:
    """Limits the schema cannot express (they come from the settings)."""
    limit = services.settings.api.max_recipients
    if len(body.recipient_ids) > limit:
        raise InputError(f"at most {limit} recipients per message", field="recipient_ids")


def sender_refusal(services: Services, body: MessageIn) -> tuple[dict, dict[str, str]] | None:
    """Count the message against its sender's limit: the 429 body and headers when over it."""
    refusal = services.limiter.sender(body.sender_id)
    if refusal is None:
        return None
    services.metrics.rate_limited.labels("sender").inc()
    detail = (
        f"sender_id {body.sender_id!r} is over its message limit ({refusal.limit}); "
        "the message was not decided: send it again after Retry-After"
    )
    return {"detail": detail, "field": "sender_id"}, {"Retry-After": refusal.retry_after_header()}


async def answer_message(services: Services, body: MessageIn) -> tuple[dict, dict[str, str] | None]:
    """Decide a checked message once its decision is stored: (decision, response headers).

    The one handler behind ``POST /v1/messages``, for the FastAPI route and the
    hot path in ``safeguard.api.fastpath`` alike.
    """
    if not services.warmup.ready:  # the models are still loading: wait off the loop
        await services.warmup.wait()
    started = perf_counter()
    outcome = await services.engine.decide(body.to_event())
    services.metrics.decision_seconds.labels("api").observe(perf_counter() - started)
    if outcome.conflict is not None:
        raise ConflictError(
            f"message_id {body.message_id!r} was already used in conversation {body.conversation_id!r} "
            f"with a different {outcome.conflict}; a retry must repeat the request exactly, and a new "
            "message needs a new message_id",
            field=outcome.conflict,
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
    responses={
        200: {"headers": {"Idempotent-Replay": {"schema": {"type": "string"}}}},
        409: {
            "model": ErrorOut,
            "description": "the message's key (conversation_id, message_id) was used for another request",
        },
        429: {
            "model": ErrorOut,
            "description": "the API key or the sender account is over its rate limit (see Retry-After)",
        },
    },
)
async def post_message(
    body: MessageIn,
    _key: KeyInfo = Depends(require("ingest")),
    services: Services = Depends(get_services),
) -> Response:
    """Score the message with its conversation's state, apply the child-safety rules and
    return the decision once it is stored.

    ``message_id`` is unique within its conversation: an exact repeat of a request
    returns the first decision (header ``Idempotent-Replay: true``); the same
    ``(conversation_id, message_id)`` with another sender, recipients or text is a 409
    naming the field."""
    check_message(services, body)
    refused = sender_refusal(services, body)
    if refused is not None:
        return JSON(refused[0], status_code=429, headers=refused[1])
    decision, headers = await answer_message(services, body)
    return JSON(decision, headers=headers)
