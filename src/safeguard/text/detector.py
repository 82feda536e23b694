"""The grooming detector: default lexicon scoring, optionally a trained model.

``Detector`` is the one object every door uses (CLI, API, stream workers). It
owns the compiled signal patterns, the decision threshold and, when the
platform has trained one, a ``TrainedModel`` that replaces the hand-set
combination weights while the lexicon still provides the explanations.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safeguard.ingest.records import Message, TextRecord
from safeguard.text.categories import CATEGORY_SEVERITY
from safeguard.text.model import lexicon_features
from safeguard.text.scoring import BIAS, length_calibrated
from safeguard.text.signal_log import Signal
from safeguard.text.signals import MessageSignals, SignalExtractor, default_extractor
from safeguard.text.state import EMBEDDING_BUDGET, ConversationState

if TYPE_CHECKING:
    from safeguard.text.model import TrainedModel

DEFAULT_THRESHOLD = 0.5
MAX_REPORTED_SIGNALS = 50
WINDOW_WORDS = 24
MESSAGE_BATCH = 512
EMBEDDING_MIN_HIT = 0.3

_LINE_SPLIT = re.compile(r"[\r\n]+")


@dataclass(slots=True)
class ConversationResult:
    """The detector's verdict on one conversation or text segment, with reasons."""

    id: str
    score: float
    flagged: bool
    stage: str
    stages: list[str]
    signals: list[Signal]
    message_count: int
    evidence: dict[str, float]
    child_context: float
    first_flagged_index: int | None = None
    author_scores: dict[str, float] = field(default_factory=dict)
    likely_groomer: str | None = None
    label: int | None = None

    def to_dict(self, *, early: bool = False) -> dict[str, Any]:
        """The ``scan --json`` object."""
        out: dict[str, Any] = {
            "id": self.id,
            "score": round(self.score, 6),
            "flagged": self.flagged,
            "stage": self.stage,
            "stages": self.stages,
            "signals": [
                {
                    "category": s.category,
                    "message_index": s.message_index,
                    "excerpt": s.excerpt,
                    "weight": s.weight,
                    "reason": s.reason,
                    "sender_id": s.sender_id,
                }
                for s in self.signals
            ],
            "categories": {c: round(v, 4) for c, v in sorted(self.evidence.items())},
            "child_context": round(self.child_context, 4),
            "messages": self.message_count,
        }
        if self.author_scores:
            out["author_scores"] = self.author_scores
            out["likely_groomer"] = self.likely_groomer
        if early:
            out["first_flagged_index"] = self.first_flagged_index
        if self.label is not None:
            out["label"] = self.label
        return out


def split_segment(text: str) -> list[str]:
    """Cut a long run of chat text (no speaker markers) into message-sized pieces."""
    pieces: list[str] = []
    for line in _LINE_SPLIT.split(text):
        words = line.split()
        if not words:
            continue
        for start in range(0, len(words), WINDOW_WORDS):
            pieces.append(" ".join(words[start : start + WINDOW_WORDS]))
    return pieces


class Detector:
    """Scores conversations; holds the patterns, threshold and optional model."""

    def __init__(
        self,
        *,
        model: TrainedModel | None = None,
        threshold: float | None = None,
        extractor: SignalExtractor | None = None,
        embeddings: bool | None = None,
        similarity: bool | None = None,
    ) -> None:
        self.model = model
        # The tactic-similarity stage (static token vectors, microseconds a message)
        # backs the hand-set lexicon; a trained model needs it only if it reads the lexicon.
        if similarity is None:
            similarity = model is None or model.uses_lexicon
        self.similarity = similarity
        # The nearest-example stage is off unless asked for: on real chat it added the
        # same evidence to grooming and to ordinary chat, at ten times the cost.
        self.embeddings = bool(embeddings)
        self.extractor = extractor or default_extractor()
        if threshold is None:
            threshold = model.threshold if model is not None else DEFAULT_THRESHOLD
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        self.threshold = threshold

    # -- streaming ---------------------------------------------------------
    def new_conversation(self, conversation_id: str) -> ConversationState:
        """A fresh streaming state for one conversation."""
        return ConversationState(self, conversation_id)

    def restore_conversation(self, data: dict[str, Any]) -> ConversationState:
        """A state saved with ``ConversationState.to_dict``."""
        return ConversationState.from_dict(self, data)

    def needs_embedding(self, found: MessageSignals, sender_age_band: str | None = None) -> bool:
        """The cascade rule: only messages in which the fast path found a tactic
        that no harmless context excused go on to the (slower) nearest-example
        stage; a child's own messages do not (the tactics are the groomer's)."""
        if not self.embeddings or sender_age_band in ("child", "teen"):
            return False
        return any(hit.weight >= EMBEDDING_MIN_HIT for hit in found.hits)

    def warm(self) -> None:
        """Load what the first scored message would otherwise load (the token vectors,
        the embedding model and their example banks), e.g. at a service's start-up."""
        if self.similarity:
            self.similarity_scores(["warm up"])
        if self.embeddings:
            self.embedding_scores(["warm up"])

    def wants_similarity(self, text: str, sender_band: str | None) -> bool:
        """Whether a message goes through the similarity stage: not a child's own (the
        tactics are the groomer's), not a two-word reply ("ok lol")."""
        return self.similarity and text.count(" ") >= 2 and sender_band not in ("child", "teen")

    def similarity_scores(self, texts: list[str]) -> list[float]:
        """Each text's similarity to the tactic bank (``text.similarity``)."""
        from safeguard.text.similarity import default_similarity

        return [float(v) for v in default_similarity().scores(texts)]

    def embedding_scores(self, texts: list[str]) -> list[float]:
        """Contrastive nearest-example scores (positive = closer to a tactic)."""
        from safeguard.text.banks import ExampleBanks

        scores, _ = ExampleBanks.cached().scores(texts)
        return [float(v) for v in scores]

    def add_messages(self, pairs: list[tuple[ConversationState, Message]]) -> None:
        """Feed many messages at once, embedding the cascade's share in one batch."""
        found = [self.extractor.extract(message.text) for _, message in pairs]
        wanted: list[int] = []
        planned: dict[int, int] = {}
        for i, f in enumerate(found):
            state, message = pairs[i]
            used = state.embedded_count + planned.get(id(state), 0)
            if used < EMBEDDING_BUDGET and self.needs_embedding(f, message.sender_age_band):
                wanted.append(i)
                planned[id(state)] = planned.get(id(state), 0) + 1
        scores: dict[int, float] = {}
        if wanted:
            values = self.embedding_scores([pairs[i][1].text for i in wanted])
            scores = dict(zip(wanted, values, strict=True))
        similar = [
            i
            for i, (state, message) in enumerate(pairs)
            if self.wants_similarity(message.text, _band(state, message))
        ]
        similarities: dict[int, float] = {}
        if similar:
            values = self.similarity_scores([pairs[i][1].text for i in similar])
            similarities = dict(zip(similar, values, strict=True))
        for i, (state, message) in enumerate(pairs):
            state.add_message(
                message, found=found[i], embedding_score=scores.get(i), similarity=similarities.get(i, -1.0)
            )

    def update_model_state(self, state: ConversationState, text: str, found: MessageSignals) -> None:
        """Let the trained model (if any) accumulate this message's features."""
        if self.model is not None:
            self.model.update_state(state._model_state, text)

    def conversation_score(self, state: ConversationState) -> float:
        """The risk of a conversation state now: its most concerning participant's."""
        if self.model is not None:
            lexicon = lexicon_features(state) if self.model.uses_lexicon else None
            return self.model.score_state(state._model_state, lexicon)
        authors = state.authors()
        if not authors:
            return length_calibrated(BIAS, state.words)
        return max(self.author_score(state, a) for a in authors)

    def author_score(self, state: ConversationState, author: str) -> float:
        """``author``'s risk from their own messages, calibrated by the conversation's length."""
        presence = state.context_of(author).known_child
        return length_calibrated(state.author_logit(author), state.words, presence)

    # -- whole inputs ------------------------------------------------------
    def result(self, state: ConversationState, label: int | None = None) -> ConversationResult:
        """Freeze a state into a result with its strongest reasons."""
        signals = sorted(
            state.signals,
            key=lambda s: (-s.weight, -CATEGORY_SEVERITY.get(s.category, 0), s.message_index),
        )[:MAX_REPORTED_SIGNALS]
        signals.sort(key=lambda s: (s.message_index, s.category))
        return ConversationResult(
            id=state.conversation_id,
            score=state.risk,
            flagged=state.flagged,
            stage=state.stage,
            stages=state.stages,
            signals=signals,
            message_count=state.message_count,
            evidence=state.evidence,
            child_context=state.child_context,
            first_flagged_index=state.first_flagged_index,
            author_scores=state.author_scores,
            likely_groomer=state.likely_groomer if state.author_scores else None,
            label=label,
        )

    def scan_messages(self, messages: Iterable[Message]) -> Iterator[ConversationResult]:
        """Score every conversation in a message stream (any order of conversations).

        Conversations are yielded as soon as a different conversation id follows
        them when the input is grouped; interleaved input keeps every state open
        until the end. Either way only per-conversation state is held, never
        the messages.
        """
        states: dict[str, ConversationState] = {}
        pending: list[tuple[ConversationState, Message]] = []
        for message in messages:
            state = states.get(message.conversation_id)
            if state is None:
                state = states[message.conversation_id] = self.new_conversation(
                    message.conversation_id
                )
            pending.append((state, message))
            if len(pending) >= MESSAGE_BATCH:
                self.add_messages(pending)
                pending = []
        self.add_messages(pending)
        for state in states.values():
            yield self.result(state)

    def score_record(self, record: TextRecord) -> ConversationResult:
        """Score one CSV row (a conversation or segment without speaker markers)."""
        return self.score_records([record])[0]

    def score_records(self, records: list[TextRecord]) -> list[ConversationResult]:
        """Score CSV rows in one batch (a trained model vectorises them together)."""
        states = []
        pairs: list[tuple[ConversationState, Message]] = []
        for record in records:
            state = self.new_conversation(record.id)
            states.append(state)
            for index, piece in enumerate(split_segment(record.text)):
                pairs.append((state, Message(record.id, str(index), "", piece)))
        self.add_messages(pairs)
        if self.model is not None and records:
            lexicon = [lexicon_features(s) for s in states] if self.model.uses_lexicon else None
            scores = self.model.score_texts([r.text for r in records], lexicon)
            for state, score in zip(states, scores, strict=True):
                state._risk = score
        return [self.result(s, label=r.label) for s, r in zip(states, records, strict=True)]


def _band(state: ConversationState, message: Message) -> str | None:
    """The band a message's sender is known by: the message's own, else the state's."""
    return message.sender_age_band or state.band_of(message.sender_id)


@lru_cache(maxsize=8)
def _load_cached(
    model_path: str | None, threshold: float | None, embeddings: bool | None, similarity: bool | None
) -> Detector:
    if model_path is None:
        return Detector(threshold=threshold, embeddings=embeddings, similarity=similarity)
    from safeguard.text.model import TrainedModel

    model = TrainedModel.load(Path(model_path))
    return Detector(model=model, threshold=threshold, embeddings=embeddings, similarity=similarity)


def load_detector(
    model_path: str | Path | None = None,
    threshold: float | None = None,
    embeddings: bool | None = None,
    similarity: bool | None = None,
) -> Detector:
    """The default detector, or one using a model saved by ``safeguard train`` (cached).

    ``similarity`` switches the tactic-similarity stage (default: on for the built-in
    detector, on with a trained model only if it reads the lexicon); ``embeddings`` the
    sentence-model nearest-example stage (default: off; slow, opt-in).
    """
    path = str(model_path) if model_path is not None else None
    return _load_cached(path, threshold, embeddings, similarity)
