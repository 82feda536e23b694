"""Grooming detection in conversations: signals, streaming state, scoring, models."""

from safeguard.text.categories import CATEGORIES, Category, Stage
from safeguard.text.detector import ConversationResult, Detector, load_detector, split_segment
from safeguard.text.normalize import normalize
from safeguard.text.signal_log import MessageAssessment, Signal
from safeguard.text.state import ConversationState

__all__ = [
    "CATEGORIES",
    "Category",
    "ConversationResult",
    "ConversationState",
    "Detector",
    "MessageAssessment",
    "Signal",
    "Stage",
    "load_detector",
    "normalize",
    "split_segment",
]
