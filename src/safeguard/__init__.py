"""Safeguard: an open child-safety engine.

Grooming detection in conversations, known-abuse media matching, child-safety
defaults and contact policy, cases, evidence and lawful reports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public names are imported lazily so `import safeguard` stays fast and the
# CLI does not pay for torch or faiss unless a command needs them.
_LAZY = {
    "PdqIndex": ("safeguard.media.pdq_index", "PdqIndex"),
    "ConversationState": ("safeguard.text.state", "ConversationState"),
    "Detector": ("safeguard.text.detector", "Detector"),
    "load_detector": ("safeguard.text.detector", "load_detector"),
}

if TYPE_CHECKING:
    from safeguard.media.pdq_index import PdqIndex
    from safeguard.text.detector import Detector, load_detector
    from safeguard.text.state import ConversationState

__all__ = ["ConversationState", "Detector", "PdqIndex", "__version__", "load_detector"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module_name, attr = _LAZY[name]
        return getattr(importlib.import_module(module_name), attr)
    raise AttributeError(f"module 'safeguard' has no attribute {name!r}")
