"""The fast path: find grooming-tactic signals in one message.

One combined regular expression screens each message first; only messages it
matches (a small share of ordinary chat) run the per-category patterns that
say which tactic fired and how strongly. That keeps the default detector in
the tens of thousands of messages per second per core.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from safeguard.text.categories import CATEGORY_STAGE
from safeguard.text.lexicon import (
    AGE_REPLY,
    AGE_REPLY_WEIGHT,
    CHILD_CONTEXT,
    DAMPEN_FACTOR,
    DAMPENERS,
    PATTERNS,
    expand,
)
from safeguard.text.normalize import normalize

EXCERPT_CHARS = 200
# A harmless context ("surprise party") only dampens a hit this close to it.
DAMPEN_REACH = 60


@dataclass(frozen=True, slots=True)
class Hit:
    """One tactic found in one message (before it is placed in a conversation)."""

    category: str
    weight: float
    reason: str
    stage: str
    excerpt: str


@dataclass(frozen=True, slots=True)
class MessageSignals:
    """Everything the fast path found in one message."""

    hits: tuple[Hit, ...]
    child_context: float  # strongest child-context cue in the message, 0 if none
    child_reasons: tuple[str, ...]
    harmless_topics: frozenset[str] = frozenset()  # categories a harmless topic excuses


_EMPTY = MessageSignals((), 0.0, ())


def _excerpt(original: str, normalised: str, start: int, end: int) -> str:
    if len(original) <= EXCERPT_CHARS:
        return original
    left = max(0, start - 80)
    right = min(len(normalised), end + 80)
    return ("…" if left else "") + normalised[left:right] + ("…" if right < len(normalised) else "")


class SignalExtractor:
    """Compiled patterns of the default lexicon, shared by every conversation."""

    @cached_property
    def _category_patterns(self) -> list[tuple[str, list[tuple[re.Pattern[str], object]]]]:
        return [
            (category, [(re.compile(expand(p.regex)), p) for p in patterns])
            for category, patterns in PATTERNS.items()
        ]

    @cached_property
    def _dampeners(self) -> dict[str, re.Pattern[str]]:
        return {c: re.compile(expand(rx)) for c, rx in DAMPENERS.items()}

    @cached_property
    def _age_reply(self) -> re.Pattern[str]:
        return re.compile(expand(AGE_REPLY))

    def age_reply(self, text: str) -> float:
        """Child-context weight of a bare age reply ("12", "13 u?"), else 0."""
        return AGE_REPLY_WEIGHT if self._age_reply.search(normalize(text)) else 0.0

    @cached_property
    def _topic_screen(self) -> re.Pattern[str]:
        return re.compile("|".join(f"(?:{expand(rx)})" for rx in DAMPENERS.values()))

    @cached_property
    def _child_patterns(self) -> list[tuple[re.Pattern[str], object]]:
        return [(re.compile(expand(p.regex)), p) for p in CHILD_CONTEXT]

    @cached_property
    def _screen(self) -> re.Pattern[str]:
        bodies = [expand(p.regex) for patterns in PATTERNS.values() for p in patterns]
        bodies += [expand(p.regex) for p in CHILD_CONTEXT]
        return re.compile("|".join(f"(?:{b})" for b in bodies))

    def extract(self, text: str) -> MessageSignals:
        """Signals in one message: at most one hit per category (the strongest)."""
        normalised = normalize(text)
        if not normalised:
            return _EMPTY
        if self._screen.search(normalised) is None:
            if self._topic_screen.search(normalised) is None:
                return _EMPTY
            topics = frozenset(c for c, rx in self._dampeners.items() if rx.search(normalised))
            return MessageSignals((), 0.0, (), topics)
        hits: list[Hit] = []
        for category, patterns in self._category_patterns:
            best: tuple[float, object, re.Match[str]] | None = None
            for regex, pattern in patterns:
                match = regex.search(normalised)
                if match is not None and (best is None or pattern.weight > best[0]):
                    best = (pattern.weight, pattern, match)
            if best is None:
                continue
            weight, pattern, match = best
            dampener = self._dampeners.get(category)
            if dampener is not None and dampener.search(
                normalised, max(0, match.start() - DAMPEN_REACH), match.end() + DAMPEN_REACH
            ):
                weight *= DAMPEN_FACTOR
            stage = pattern.stage or CATEGORY_STAGE[category].value
            excerpt = _excerpt(text, normalised, match.start(), match.end())
            hits.append(Hit(category, round(weight, 4), pattern.name, stage, excerpt))
        child = 0.0
        reasons: list[str] = []
        for regex, pattern in self._child_patterns:
            if regex.search(normalised):
                child = max(child, pattern.weight)
                reasons.append(pattern.name)
        topics = frozenset(c for c, rx in self._dampeners.items() if rx.search(normalised))
        if not hits and not reasons and not topics:
            return _EMPTY
        return MessageSignals(tuple(hits), child, tuple(reasons), topics)


_default_extractor: SignalExtractor | None = None


def default_extractor() -> SignalExtractor:
    """The process-wide extractor (patterns compile once)."""
    global _default_extractor
    if _default_extractor is None:
        _default_extractor = SignalExtractor()
    return _default_extractor
