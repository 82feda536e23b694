"""Types shared by every role: identifiers, reasons, errors."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from safeguard.core.types import AgeBand, Identifier

__all__ = ["ActionName", "AgeAssurance", "AgeBand", "ErrorOut", "Identifier", "ReasonOut"]
AgeAssurance = Literal["self_declared", "estimated", "verified"]
ActionName = Literal["allow", "warn_recipient", "require_confirmation", "hold", "block", "escalate"]


class ReasonOut(BaseModel):
    """One rule that fired."""

    code: str = Field(description="stable rule code, e.g. unconnected_contact")
    detail: str
    account_id: str | None = None


class ErrorOut(BaseModel):
    """An error: what is wrong and which field."""

    detail: str
    field: str | None = None
