"""Accounts: age band and assurance, profile views (F1 visibility), account-level risk."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from safeguard.accounts import service as accounts
from safeguard.accounts.keys import KeyInfo
from safeguard.api.deps import Services, get_services, require
from safeguard.api.schemas.accounts import AccountIn, AccountOut, AccountRiskOut, ConnectionsOut
from safeguard.api.schemas.common import ErrorOut, error_responses
from safeguard.core.types import Party
from safeguard.policy.rules import connections_visibility, location_visibility

router = APIRouter(
    prefix="/v1/accounts", tags=["accounts"], responses=error_responses(401, 403, 413, 422, 429)
)
AccountId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]
ViewerId = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=128,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="the account looking; minors' location and connections are shown only to themselves",
    ),
]
NOT_FOUND = {404: {"model": ErrorOut, "description": "no such account"}}


@router.put("/{account_id}", response_model=AccountOut, summary="Create or update an account")
def put_account(
    body: AccountIn,
    account_id: AccountId,
    _key: KeyInfo = Depends(require("ingest")),
    services: Services = Depends(get_services),
) -> AccountOut:
    """Set an account's age band (child < 13, teen 13-17, adult, unknown) and assurance."""
    with services.write() as session:
        account = accounts.upsert_account(
            session,
            account_id,
            age_band=body.age_band,
            age_assurance=body.age_assurance,
            declared_age_band=body.declared_age_band,
            location=body.location,
            settings=services.settings,
        )
        return AccountOut(
            id=account.id,
            age_band=account.age_band,
            age_assurance=account.age_assurance,
            location=account.location,
        )


@router.get("/{account_id}", response_model=AccountOut, responses=NOT_FOUND, summary="View an account")
def get_account(
    account_id: AccountId,
    viewer_id: ViewerId = None,
    _key: KeyInfo = Depends(require("ingest", "review")),
    services: Services = Depends(get_services),
) -> AccountOut:
    """An account as ``viewer_id`` may see it: a minor's location is never shown to others."""
    with services.read() as session:
        account = accounts.get_account(session, account_id)
        if account is None:
            raise HTTPException(404, f"no account {account_id!r}")
        party = Party(account.id, account.age_band, account.age_assurance)
        hidden = location_visibility(party, viewer_id, settings=services.settings).hidden
        return AccountOut(
            id=account.id,
            age_band=account.age_band,
            age_assurance=account.age_assurance,
            location=None if hidden else account.location,
            location_hidden=hidden,
        )


@router.get(
    "/{account_id}/connections",
    response_model=ConnectionsOut,
    summary="An account's connections as a viewer may see them",
)
def get_connections(
    account_id: AccountId,
    viewer_id: ViewerId = None,
    _key: KeyInfo = Depends(require("ingest", "review")),
    services: Services = Depends(get_services),
) -> ConnectionsOut:
    """A minor's list is shown only to the minor; minors are left out of others' lists."""
    with services.read() as session:
        party = accounts.parties(session, [account_id])[account_id]
        ids = accounts.list_connections(session, account_id)
        people = accounts.parties(session, ids)
    view = connections_visibility(party, [people[i] for i in ids], viewer_id, settings=services.settings)
    if view.hidden:
        return ConnectionsOut(account_id=account_id, connection_ids=[], hidden=True)
    return ConnectionsOut(account_id=account_id, connection_ids=view.visible_ids)


@router.get("/{account_id}/risk", response_model=AccountRiskOut, summary="Account-level risk and reasons")
def get_risk(
    account_id: AccountId,
    _key: KeyInfo = Depends(require("review")),
    services: Services = Depends(get_services),
) -> AccountRiskOut:
    """Fan-out to unconnected minors, repeated platform-move/secrecy, age mismatch, shared media."""
    with services.write() as session:
        risk = accounts.account_risk(session, account_id, services.settings)
        return AccountRiskOut(**risk.to_dict())
