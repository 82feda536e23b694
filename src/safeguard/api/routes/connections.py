"""Connections, contact confirmations, connection requests and suggestion filtering."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from safeguard.accounts import service as accounts
from safeguard.accounts.keys import KeyInfo
from safeguard.api.deps import Services, get_services, require
from safeguard.api.schemas.accounts import (
    ConnectionOut,
    ConnectionRequestIn,
    ConnectionRequestOut,
    SuggestionsIn,
    SuggestionsOut,
)
from safeguard.api.schemas.common import ErrorOut, error_responses
from safeguard.errors import InputError
from safeguard.policy.rules import filter_suggestions

router = APIRouter(prefix="/v1", tags=["connections"], responses=error_responses(401, 403, 413, 422, 429))
PathId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]
BAD = {400: {"model": ErrorOut, "description": "invalid pair"}}


@router.put(
    "/connections/{a}/{b}",
    response_model=ConnectionOut,
    responses=BAD,
    summary="Record an accepted connection",
)
def put_connection(
    a: PathId,
    b: PathId,
    _key: KeyInfo = Depends(require("ingest")),
    services: Services = Depends(get_services),
) -> ConnectionOut:
    """Record that ``a`` and ``b`` are connected (friend/follow both ways). Idempotent."""
    with services.write() as session:
        accounts.set_connection(session, a, b)
    return ConnectionOut(a=a, b=b, connected=True)


@router.delete(
    "/connections/{a}/{b}",
    response_model=ConnectionOut,
    responses=BAD,
    summary="Remove a connection",
)
def delete_connection(
    a: PathId,
    b: PathId,
    _key: KeyInfo = Depends(require("ingest")),
    services: Services = Depends(get_services),
) -> ConnectionOut:
    """Remove the connection between ``a`` and ``b`` (idempotent)."""
    with services.write() as session:
        accounts.remove_connection(session, a, b)
    return ConnectionOut(a=a, b=b, connected=False)


@router.put(
    "/contact-confirmations/{minor_id}/{other_id}",
    response_model=ConnectionOut,
    summary="A minor confirmed contact from an unconnected account",
)
def confirm_contact(
    minor_id: PathId,
    other_id: PathId,
    _key: KeyInfo = Depends(require("ingest")),
    services: Services = Depends(get_services),
) -> ConnectionOut:
    """After this, messages from ``other_id`` no longer need the minor's confirmation."""
    with services.write() as session:
        accounts.confirm_contact(session, minor_id, other_id)
    return ConnectionOut(a=minor_id, b=other_id, connected=False)


@router.post(
    "/connection-requests",
    response_model=ConnectionRequestOut,
    summary="Decide a connection request",
)
def connection_request(
    body: ConnectionRequestIn,
    _key: KeyInfo = Depends(require("ingest")),
    services: Services = Depends(get_services),
) -> ConnectionRequestOut:
    """Adult -> unconnected minor needs the minor's confirmation, with supportive text."""
    decision, case_id = services.engine.connection_request(body.requester_id, body.target_id)
    services.metrics.decisions.labels("connection_request", decision.action.value).inc()
    return ConnectionRequestOut(
        action=decision.action.value,
        reasons=[r.to_dict() for r in decision.reasons],
        warn_recipient=decision.warn_recipient,
        warn_requester=decision.warn_requester,
        case_id=case_id,
    )


@router.post(
    "/suggestions/filter",
    response_model=SuggestionsOut,
    summary="Filter network-expansion suggestions",
)
def suggestions_filter(
    body: SuggestionsIn,
    _key: KeyInfo = Depends(require("ingest")),
    services: Services = Depends(get_services),
) -> SuggestionsOut:
    """The candidates the viewer may be shown: minors are kept out of adults' suggestions."""
    limit = services.settings.api.max_candidates
    if len(body.candidate_ids) > limit:
        raise InputError(f"at most {limit} candidates per call", field="candidate_ids")
    with services.read() as session:
        people = accounts.parties(session, [body.viewer_id, *body.candidate_ids])
        connected = accounts.connected_among(session, body.viewer_id, body.candidate_ids)
    result = filter_suggestions(
        people[body.viewer_id],
        [people[c] for c in body.candidate_ids],
        connected_ids=connected,
        settings=services.settings,
    )
    return SuggestionsOut(allowed_ids=result.allowed_ids, excluded=[r.to_dict() for r in result.excluded])
