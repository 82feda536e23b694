"""Accounts, connections and account-level risk."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from safeguard.api.schemas.common import AgeAssurance, AgeBand, Identifier, ReasonOut


class AccountIn(BaseModel):
    """An account's age band, how it was assured, and optional profile fields."""

    age_band: AgeBand
    age_assurance: AgeAssurance = "self_declared"
    declared_age_band: AgeBand | None = Field(
        None, description="what the user said; defaults to age_band when self-declared"
    )
    location: Annotated[str, StringConstraints(max_length=256, pattern=r"^[^\x00]*$")] | None = Field(
        None, description="never shown to others for minors"
    )


class AccountOut(BaseModel):
    """An account as a viewer may see it: minors' location and connections are hidden."""

    id: str
    age_band: AgeBand
    age_assurance: AgeAssurance
    location: str | None = None
    location_hidden: bool = False


class ConnectionsOut(BaseModel):
    """An account's connections as a viewer may see them."""

    account_id: str
    connection_ids: list[str]
    hidden: bool = Field(False, description="true when the list is withheld (minor's list)")


class AccountRiskOut(BaseModel):
    """Account-level risk in [0, 1] and every reason for it."""

    account_id: str
    risk: float
    reasons: list[ReasonOut]


class ConnectionRequestIn(BaseModel):
    """A request from one account to connect with another."""

    requester_id: Identifier
    target_id: Identifier


class ConnectionRequestOut(BaseModel):
    """The policy decision for a connection request."""

    action: str
    reasons: list[ReasonOut]
    warn_recipient: str | None = None
    warn_requester: str | None = None
    case_id: str | None = None


class SuggestionsIn(BaseModel):
    """Candidates a platform would suggest to a viewer."""

    viewer_id: Identifier
    candidate_ids: list[Identifier] = Field(max_length=1000)


class SuggestionsOut(BaseModel):
    """The candidates the viewer may be shown, in input order."""

    allowed_ids: list[str]
    excluded: list[ReasonOut] = Field(default_factory=list)


class ConnectionOut(BaseModel):
    """The state of a connection after a change."""

    a: str
    b: str
    connected: bool
