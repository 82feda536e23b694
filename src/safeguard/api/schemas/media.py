"""Media submissions: hashes, bank matches and the decision."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from safeguard.api.schemas.common import ActionName, ReasonOut

Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]+$")]


class MediaHashesIn(BaseModel):
    """Hash-only submission, for clients that keep media on the device."""

    sender_id: str = Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")
    recipient_ids: list[
        Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]
    ] = Field(default_factory=list, max_length=256)
    message_id: str | None = Field(None, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")
    pdq: Hex | None = Field(None, min_length=64, max_length=64)
    md5: Hex | None = Field(None, min_length=32, max_length=32)
    sha256: Hex | None = Field(None, min_length=64, max_length=64)


class BankMatchOut(BaseModel):
    """One match against a hash bank."""

    bank: str
    entry_id: str
    signal_type: str
    distance: int
    category: str | None = None
    source: str | None = None
    external_id: str | None = None


class MediaHashesOut(BaseModel):
    """Hashes of the submitted media."""

    pdq: str | None = None
    pdq_quality: int | None = None
    md5: str | None = None
    sha256: str | None = None
    too_weak: bool = False


class MediaDecisionOut(BaseModel):
    """Hashes, bank matches and the decision (a bank match blocks and escalates)."""

    action: ActionName
    hashes: MediaHashesOut
    matches: list[BankMatchOut]
    reasons: list[ReasonOut]
    case_id: str | None = None
