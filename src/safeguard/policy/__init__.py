"""Child-safety policy: pure decision functions and the engine that feeds them."""

from safeguard.policy.rules import (
    decide_connection_request,
    decide_message,
    filter_suggestions,
    is_minor,
)
from safeguard.policy.types import (
    Action,
    ConnectionRequestDecision,
    MessageDecision,
    Party,
    Reason,
    RecipientContext,
    SuggestionResult,
)

__all__ = [
    "Action",
    "ConnectionRequestDecision",
    "MessageDecision",
    "Party",
    "Reason",
    "RecipientContext",
    "SuggestionResult",
    "decide_connection_request",
    "decide_message",
    "filter_suggestions",
    "is_minor",
]
