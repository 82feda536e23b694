"""Types shared by every role: identifiers, reasons, errors."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from safeguard.core.types import AgeBand, Identifier

__all__ = [
    "ActionName",
    "AgeAssurance",
    "AgeBand",
    "ErrorOut",
    "FieldErrorOut",
    "Identifier",
    "ReasonOut",
    "error_responses",
]
AgeAssurance = Literal["self_declared", "estimated", "verified"]
ActionName = Literal["allow", "warn_recipient", "require_confirmation", "hold", "block", "escalate"]


class ReasonOut(BaseModel):
    """One rule that fired."""

    code: str = Field(description="stable rule code, e.g. unconnected_contact")
    detail: str
    account_id: str | None = None


class FieldErrorOut(BaseModel):
    """One invalid field of a request (422)."""

    field: str = Field(description="dotted path of the field, or 'body'")
    message: str


class ErrorOut(BaseModel):
    """Every error body (4xx): what is wrong and, where one is to blame, which field.

    A 422 also lists every invalid field under ``errors``; ``detail`` names the first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "detail": "field 'sender_id': Field required",
                    "field": "sender_id",
                    "errors": [{"field": "sender_id", "message": "Field required"}],
                },
                {"detail": "invalid or revoked API key"},
            ]
        }
    )

    detail: str = Field(description="one-line, human-readable reason")
    field: str | None = Field(default=None, description="the field to blame, if any")
    errors: list[FieldErrorOut] | None = Field(default=None, description="422 only: every invalid field")


_ERROR_DESCRIPTIONS = {
    400: "invalid request",
    401: "missing, invalid or revoked API key (see WWW-Authenticate)",
    403: "the API key lacks the scope this route needs",
    404: "no such resource",
    409: "conflicts with an earlier request or the resource's state",
    413: "request headers or body larger than the configured limit",
    415: "unsupported media type",
    422: "the request does not match the schema: every invalid field is listed",
    429: "over a rate limit (see Retry-After)",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses=`` entries documenting the error body of each status in ``codes``."""
    return {code: {"model": ErrorOut, "description": _ERROR_DESCRIPTIONS[code]} for code in codes}
