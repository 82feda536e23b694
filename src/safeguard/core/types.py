"""Types every capability shares: why a rule fired, who an account is to the policy, and
the identifiers and age bands events carry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import StringConstraints


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a rule fired: a stable ``code``, a human ``detail``, and whom it concerns."""

    code: str
    detail: str
    account_id: str | None = None

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"code": self.code, "detail": self.detail, "account_id": self.account_id}


@dataclass(frozen=True, slots=True)
class Party:
    """What the policy needs to know about an account."""

    id: str
    age_band: str = "unknown"
    age_assurance: str = "self_declared"


# Constrained strings of the events every door accepts (pydantic reads these annotations).
Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$"),
]
AgeBand = Literal["child", "teen", "adult", "unknown"]
