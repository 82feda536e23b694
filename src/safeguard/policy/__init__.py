"""Child-safety policy: pure decision functions and the engine that feeds them."""

from safeguard.policy.rules import (
    connections_visibility,
    decide_connection_request,
    decide_message,
    filter_suggestions,
    is_minor,
    location_visibility,
)
from safeguard.policy.types import (
    Action,
    ConnectionRequestDecision,
    MessageDecision,
    Party,
    Reason,
    RecipientContext,
    SuggestionResult,
    Visibility,
)

__all__ = [
    "Action",
    "ConnectionRequestDecision",
    "MessageDecision",
    "Party",
    "Reason",
    "RecipientContext",
    "SuggestionResult",
    "Visibility",
    "connections_visibility",
    "decide_connection_request",
    "decide_message",
    "filter_suggestions",
    "is_minor",
    "location_visibility",
]
