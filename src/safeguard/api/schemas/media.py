"""Media submissions: hashes, bank matches, nudity protection and the decision."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from safeguard.api.schemas.common import ActionName, ReasonOut
from safeguard.policy.events import MediaHashesBody


class MediaHashesIn(MediaHashesBody):
    """Hash-only submission, for clients that keep media on the device."""


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


NudityAction = Literal["blur_and_warn", "warn_before_send", "allow"]


class NudityOut(BaseModel):
    """Nudity protection for child and teen accounts (present when one takes part and an image
    was uploaded, or the device sent a score).

    An upload that could not be screened (reason ``nudity_unavailable`` or
    ``nudity_unscreened``) has ``screened = false``, no score, and the protective actions.
    """

    screened: bool = Field(
        True, description="false: the image could not be screened and the actions are protective"
    )
    score: float | None = Field(description="nudity score in [0, 1]; null when not screened")
    threshold: float
    action: NudityAction = Field(description="what the client does: blur_and_warn wins over warn_before_send")
    text: str | None = Field(None, description="the supportive text to show for ``action``")
    sender_action: Literal["warn_before_send", "allow"]
    sender_text: str | None = None
    recipient_action: Literal["blur_and_warn", "allow"]
    recipient_text: str | None = None
    recipient_actions: dict[str, Literal["blur_and_warn", "allow"]] = Field(default_factory=dict)
    source: Literal["server", "device"] = Field(description="scored here (upload) or on the device")


class MediaDecisionOut(BaseModel):
    """Hashes, bank matches and the decision (a bank match blocks and escalates).

    A nudity decision sets ``action`` to ``warn_recipient`` (blur and warn) or
    ``require_confirmation`` (warn before sending) unless a bank match escalates.
    """

    action: ActionName
    hashes: MediaHashesOut
    matches: list[BankMatchOut]
    reasons: list[ReasonOut]
    case_id: str | None = None
    nudity: NudityOut | None = None
