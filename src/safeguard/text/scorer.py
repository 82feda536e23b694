"""What a ``ConversationState`` needs of the detector that scores it.

The state accumulates evidence and is handed a scorer (``text.detector.Detector``),
so it never imports the detector: the scoring rules stay in ``text.scoring`` and a
trained model can replace them without the state knowing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from safeguard.text.signals import MessageSignals
    from safeguard.text.state import ConversationState


class Scorer(Protocol):
    """What a state needs of its detector (``safeguard.text.detector.Detector``)."""

    extractor: Any
    threshold: float
    model: Any

    def needs_embedding(self, found: MessageSignals, sender_age_band: str | None = None) -> bool: ...

    def embedding_scores(self, texts: list[str]) -> list[float]: ...

    def wants_similarity(self, text: str, sender_band: str | None) -> bool: ...

    def similarity_scores(self, texts: list[str]) -> list[float]: ...

    def update_model_state(self, state: ConversationState, text: str, found: MessageSignals) -> None: ...

    def conversation_score(self, state: ConversationState) -> float: ...

    def author_score(self, state: ConversationState, author: str) -> float: ...
