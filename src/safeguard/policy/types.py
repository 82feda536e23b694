"""Result types of the policy engine: every decision carries its reasons (``Reason`` and
``Party`` are the shared kernel's, :mod:`safeguard.core.types`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from safeguard.core.types import Party, Reason

__all__ = [
    "Action",
    "ConnectionRequestDecision",
    "MessageDecision",
    "Party",
    "PlatformAction",
    "Reason",
    "RecipientContext",
    "SuggestionResult",
    "Visibility",
    "most_severe",
]


class Action(StrEnum):
    """What the platform should do, from least to most severe.

    ``hold`` withholds delivery pending review; ``block`` refuses delivery;
    ``escalate`` withholds delivery and opens a case.
    """

    ALLOW = "allow"
    WARN_RECIPIENT = "warn_recipient"
    REQUIRE_CONFIRMATION = "require_confirmation"
    HOLD = "hold"
    BLOCK = "block"
    ESCALATE = "escalate"

    @property
    def severity(self) -> int:
        """Position in the severity order (0 = allow)."""
        return _ORDER.index(self)


_ORDER = list(Action)


def most_severe(actions: list[Action]) -> Action:
    """The most severe of ``actions`` (``allow`` for none)."""
    return max(actions, key=lambda a: a.severity, default=Action.ALLOW)


@dataclass(frozen=True, slots=True)
class RecipientContext:
    """One recipient of a message, and its relation to the sender."""

    party: Party
    connected: bool = False
    confirmed: bool = False


@dataclass(frozen=True, slots=True)
class PlatformAction:
    """A step beyond delivery the platform should apply, with why (e.g. ``revoke_follower_access``)."""

    action: str
    account_id: str
    recipient_id: str
    reason: str

    def to_dict(self) -> dict:
        """The JSON form."""
        return {
            "action": self.action,
            "account_id": self.account_id,
            "recipient_id": self.recipient_id,
            "reason": self.reason,
        }


@dataclass(slots=True)
class MessageDecision:
    """The decision on one message, with per-recipient actions and reasons."""

    action: Action
    risk: float
    conversation_risk: float
    reasons: list[Reason] = field(default_factory=list)
    recipient_actions: dict[str, Action] = field(default_factory=dict)
    warn_recipient: str | None = None
    account_risk: float = 0.0
    priority: int | None = None
    support: dict | None = None
    platform_actions: list[PlatformAction] = field(default_factory=list)

    @property
    def escalated(self) -> bool:
        """True when the decision opens a case."""
        return self.action is Action.ESCALATE


@dataclass(slots=True)
class ConnectionRequestDecision:
    """The decision on a connection request between two accounts."""

    action: Action
    reasons: list[Reason] = field(default_factory=list)
    warn_recipient: str | None = None
    warn_requester: str | None = None


@dataclass(slots=True)
class SuggestionResult:
    """Candidates a viewer may be shown, and why the others were removed."""

    allowed_ids: list[str]
    excluded: list[Reason] = field(default_factory=list)


@dataclass(slots=True)
class Visibility:
    """What a viewer may see of an account's profile or connections, and why the rest is hidden.

    ``hidden`` hides the whole item (a minor's location, a minor's connection list);
    ``visible_ids`` are the connections shown; ``reasons`` say what was hidden and why.
    """

    hidden: bool
    visible_ids: list[str] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
