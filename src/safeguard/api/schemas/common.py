"""Types shared by every role: identifiers, reasons, errors."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$"),
]
AgeBand = Literal["child", "teen", "adult", "unknown"]
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
