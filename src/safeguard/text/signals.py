"""The fast path: find grooming-tactic signals in one message.

One combined regular expression screens each message first; only messages it
matches (a small share of ordinary chat) run the per-category patterns that
say which tactic fired and how strongly. That keeps the default detector in
the tens of thousands of messages per second per core.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from safeguard.text.categories import CATEGORY_STAGE
from safeguard.text.lexicon import (
    AGE_REPLY,
    AGE_REPLY_WEIGHT,
    CHILD_CONTEXT,
    DAMPEN_FACTOR,
    DAMPENERS,
    MAX_STATED_AGE,
    MIN_STATED_AGE,
    PATTERNS,
    STATED_AGE,
    Pattern,
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
    cue: str = ""  # what the scorer reads it as (the pattern's cue, else its category)
    undamped: float = 0.0  # the weight before a harmless context dampened it (0: not dampened)


@dataclass(frozen=True, slots=True)
class MessageSignals:
    """Everything the fast path found in one message."""

    hits: tuple[Hit, ...]
    child_context: float  # strongest child-context cue in the message, 0 if none
    child_reasons: tuple[str, ...]
    harmless_topics: frozenset[str] = frozenset()  # categories a harmless topic excuses
    stated_ages: tuple[int, ...] = ()  # ages the writer gives as their own ("im 35", "14 f")


_EMPTY = MessageSignals((), 0.0, ())


def _excerpt(original: str, normalised: str, start: int, end: int) -> str:
    if len(original) <= EXCERPT_CHARS:
        return original
    left = max(0, start - 80)
    right = min(len(normalised), end + 80)
    return ("…" if left else "") + normalised[left:right] + ("…" if right < len(normalised) else "")


def strip_lookarounds(pattern: str) -> str:
    """Drop lookahead/lookbehind groups: the result matches a superset of the input.

    RE2 (linear-time, multi-pattern) has no lookarounds, so it screens with the
    stripped pattern and Python's ``re`` confirms with the full one.
    """
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith(("(?!", "(?=", "(?<!", "(?<="), i) and (i == 0 or pattern[i - 1] != "\\"):
            depth = 0
            j = i
            while j < len(pattern):
                ch = pattern[j]
                if ch == "\\":
                    j += 2
                    continue
                if ch == "(":
                    depth += 1
                elif ch == ")":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            i = j + 1
            continue
        out.append(pattern[i])
        i += 1
    return "".join(out)


@dataclass(frozen=True, slots=True)
class _Entry:
    kind: str  # "tactic", "child", "topic" or "age"
    category: str | None
    pattern: Pattern | None
    regex: re.Pattern[str]


class SignalExtractor:
    """Compiled patterns of the default lexicon, shared by every conversation.

    All patterns (tactics, child context, harmless topics) are screened in one
    pass by an RE2 pattern set, which reports which of them can match; only
    those are run through Python's ``re`` for the match span and lookarounds.
    Most messages match nothing and cost one RE2 scan.
    """

    def __init__(self) -> None:
        entries: list[_Entry] = []
        for category, patterns in PATTERNS.items():
            entries += [_Entry("tactic", category, p, re.compile(expand(p.regex))) for p in patterns]
        entries += [_Entry("child", None, p, re.compile(expand(p.regex))) for p in CHILD_CONTEXT]
        entries += [_Entry("topic", c, None, re.compile(expand(rx))) for c, rx in DAMPENERS.items()]
        entries += [_Entry("age", None, None, re.compile(expand(rx))) for rx in STATED_AGE]
        self._entries = entries
        self._category_of = {e.pattern.cue or e.category: e.category for e in entries if e.kind == "tactic"}
        self._dampeners = {e.category: e.regex for e in entries if e.kind == "topic"}
        self._age_reply = re.compile(expand(AGE_REPLY))
        self._set = _compile_set([strip_lookarounds(e.regex.pattern) for e in entries])
        self._fallback = (
            None if self._set is not None else re.compile("|".join(f"(?:{e.regex.pattern})" for e in entries))
        )

    def _candidates(self, text: str) -> list[int]:
        if self._set is not None:
            return self._set.Match(text)
        if self._fallback.search(text) is None:  # type: ignore[union-attr]
            return []
        return list(range(len(self._entries)))

    def age_reply(self, text: str) -> float:
        """Child-context weight of a bare age reply ("12", "13 u?"), else 0."""
        return AGE_REPLY_WEIGHT if self._age_reply.search(normalize(text)) else 0.0

    def extract(self, text: str) -> MessageSignals:
        """Signals in one message: at most one hit per cue (the strongest)."""
        normalised = normalize(text)
        if not normalised:
            return _EMPTY
        candidates = self._candidates(normalised)
        if not candidates:
            return _EMPTY
        best: dict[str, tuple[float, Pattern, re.Match[str]]] = {}
        child = 0.0
        reasons: list[str] = []
        topics: set[str] = set()
        ages: set[int] = set()
        for index in sorted(candidates):
            entry = self._entries[index]
            if entry.kind == "age":
                ages.update(_ages(entry.regex, normalised))
                continue
            match = entry.regex.search(normalised)
            if match is None:
                continue
            if entry.kind == "topic":
                topics.add(entry.category)  # type: ignore[arg-type]
            elif entry.kind == "child":
                child = max(child, entry.pattern.weight)  # type: ignore[union-attr]
                reasons.append(entry.pattern.name)  # type: ignore[union-attr]
            else:
                cue = entry.pattern.cue or entry.category  # type: ignore[union-attr]
                current = best.get(cue)  # type: ignore[arg-type]
                if current is None or entry.pattern.weight > current[0]:  # type: ignore[union-attr]
                    best[cue] = (entry.pattern.weight, entry.pattern, match)  # type: ignore[index,union-attr]
        hits: list[Hit] = []
        for cue, (weight, pattern, match) in best.items():
            category = self._category_of[cue]
            dampener = self._dampeners.get(category)
            undamped = 0.0
            if dampener is not None and dampener.search(
                normalised, max(0, match.start() - DAMPEN_REACH), match.end() + DAMPEN_REACH
            ):
                undamped, weight = weight, weight * DAMPEN_FACTOR
            stage = pattern.stage or CATEGORY_STAGE[category].value
            excerpt = _excerpt(text, normalised, match.start(), match.end())
            hits.append(Hit(category, round(weight, 4), pattern.name, stage, excerpt, cue, undamped))
        if not hits and not reasons and not topics and not ages:
            return _EMPTY
        return MessageSignals(tuple(hits), child, tuple(reasons), frozenset(topics), tuple(sorted(ages)))


def _ages(regex: re.Pattern[str], text: str) -> set[int]:
    """The plausible ages a stated-age pattern captures in ``text``."""
    found = set()
    for match in regex.finditer(text):
        age = int(match.group(1))
        if MIN_STATED_AGE <= age <= MAX_STATED_AGE:
            found.add(age)
    return found


def _compile_set(patterns: list[str]):  # type: ignore[no-untyped-def]
    """An RE2 set of the screening patterns, or None when google-re2 is missing."""
    try:
        import re2
    except ImportError:
        return None
    options = re2.Options()
    options.max_mem = 256 << 20
    pattern_set = re2.Set.SearchSet(options)
    for pattern in patterns:
        if pattern_set.Add(pattern) < 0:
            return None
    pattern_set.Compile()
    return pattern_set


_default_extractor: SignalExtractor | None = None


def default_extractor() -> SignalExtractor:
    """The process-wide extractor (patterns compile once)."""
    global _default_extractor
    if _default_extractor is None:
        _default_extractor = SignalExtractor()
    return _default_extractor
