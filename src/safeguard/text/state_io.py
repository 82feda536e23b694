"""Saving and restoring a ``ConversationState`` as JSON (the store keeps it per conversation).

Version 4 keeps per-participant cue evidence with its word clock; states saved by
versions 1-3 (per-author category evidence) are read forward (``legacy_participants``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from safeguard.text.categories import CATEGORIES
from safeguard.text.images import ImageEvents
from safeguard.text.participants import Evidence, Participant, legacy_participants
from safeguard.text.sextortion import SextortionWatch
from safeguard.text.signal_log import SignalLog

# 4: per-participant cue evidence with a word clock; 3: signal rows as one JSON text;
# 2: signals as a list of rows; 1: as a list of dicts.
STATE_VERSION = 4
READABLE_STATE_VERSIONS = (1, 2, 3, 4)

if TYPE_CHECKING:
    from safeguard.text.state import ConversationState, Scorer


def state_to_dict(self: ConversationState) -> dict[str, Any]:
    """A JSON-serialisable snapshot (the detector is not included)."""
    return {
        "version": STATE_VERSION,
        "conversation_id": self.conversation_id,
        "message_count": self.message_count,
        "words": self.words,
        "first_flagged_index": self.first_flagged_index,
        "age_bands": self.age_bands,
        "harmless_topics": sorted(self.harmless_topics),
        "age_asked_by": self._age_asked_by,
        "remaining": self._categories.remaining,
        "participants": {p: e.to_dict() for p, e in self._participants.items()},
        # Rows in SIGNAL_FIELDS order as one JSON text, unparsed on restore.
        "signal_rows": self._signal_log.to_json(),
        "signal_count": self._signal_log.count,
        "signal_stages": self._signal_log.saved_pairs(),
        "embedded_count": self.embedded_count,
        "embedding_mass": self.embedding_mass,
        "embedding_remaining": self.embedding_remaining,
        "model_state": self._model_state,
        "risk": self._risk,
        "recipient_bands": sorted(self.recipient_bands),
        "wrote_to_young": sorted(self._wrote_to_young),
        "context_signature": self.context_signature,
        "sextortion": self.sextortion.to_dict(),
        **self.images.to_dict(),
    }


def state_from_dict(
    cls: type[ConversationState], detector: Scorer, data: dict[str, Any]
) -> ConversationState:
    """Rebuild a state saved by ``to_dict`` (by this version or an earlier one)."""
    version = data.get("version")
    if version not in READABLE_STATE_VERSIONS:
        raise ValueError(f"unsupported conversation state version {version!r}")
    state = cls(detector, data["conversation_id"])
    state.message_count = int(data["message_count"])
    state.words = float(data.get("words", 0.0))
    state.first_flagged_index = data.get("first_flagged_index")
    state.age_bands = dict(data.get("age_bands", {}))
    state.harmless_topics = set(data.get("harmless_topics", []))
    state._age_asked_by = data.get("age_asked_by")
    state._categories = Evidence({c: float(v) for c, v in data["remaining"].items() if c in CATEGORIES})
    if version >= 4:
        state._participants = {
            p: Participant.from_dict(e) for p, e in data.get("participants", {}).items()
        }
    else:
        state._participants = legacy_participants(data)
    if version < 3:
        state._signal_log = SignalLog.load(data.get("signals", []))
    else:
        state._signal_log = SignalLog.restore(
            data.get("signal_rows", "[]"), int(data.get("signal_count", 0)), data.get("signal_stages", ())
        )
    state.embedded_count = int(data.get("embedded_count", 0))
    state.embedding_mass = float(data.get("embedding_mass", 0.0))
    state.embedding_remaining = float(data.get("embedding_remaining", 1.0))
    state._model_state = dict(data.get("model_state", {}))
    state._risk = float(data.get("risk", 0.0))
    state.recipient_bands = set(data.get("recipient_bands") or ())
    state._wrote_to_young = set(data.get("wrote_to_young") or ())
    state.context_signature = data.get("context_signature")
    state.sextortion = SextortionWatch.from_dict(data.get("sextortion"))  # absent before issue 19
    state.images = ImageEvents.from_dict(data)
    if state.images.events:
        state.images.refresh(state.band_of, state._everyone())
    return state
