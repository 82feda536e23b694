"""The blind evaluation sets (``benchmarks/blind``) as the inputs the detector meets.

Each set was written by an author who did not read the detector's code, lexicon
or banks (see each folder's README). This module turns them into the views a
platform has: speaker-aware conversations with age bands (the service), without
bands (JSONL, PAN12), text-only segments (a CSV export), sessions cut from long
chats, evasion rewrites and long harmless conversations. All of it is synthetic.
"""

from __future__ import annotations

import csv
import json
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
BLIND = HERE / "blind"
GROOMING_SETS = ("groomA", "groomB", "negteen", "negadult")
SEGMENT_WORDS = 270  # about the length of the real benchmark's segments


@dataclass(frozen=True, slots=True)
class Line:
    """One message of a blind conversation."""

    message_id: str
    sender_id: str
    sent_at: str
    text: str
    band: str
    has_image: bool = False


@dataclass(slots=True)
class Conversation:
    """A blind conversation and what its author says about it."""

    id: str
    label: int
    kind: str
    split: str
    groomer: str
    lines: list[Line] = field(default_factory=list)
    first_tactic: int | None = None
    script: str = ""
    first_threat: int | None = None

    @property
    def words(self) -> int:
        return sum(len(line.text.split()) for line in self.lines)


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of text without speakers, labelled by its conversation."""

    id: str
    text: str
    label: int
    kind: str


def load(sets: Sequence[str] = GROOMING_SETS) -> list[Conversation]:
    """Every conversation of ``sets``, in file order."""
    conversations: dict[str, Conversation] = {}
    for name in sets:
        with (BLIND / name / "labels.csv").open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                conversations[row["conversation_id"]] = Conversation(
                    row["conversation_id"],
                    int(row["label"]),
                    row["kind"],
                    row["split"],
                    row.get("groomer_id") or "",
                    first_tactic=_int(row.get("first_tactic_index")),
                    script=row.get("script_id") or "",
                    first_threat=_int(row.get("first_threat_index")),
                )
        for raw in (BLIND / name / "conversations.jsonl").open(encoding="utf-8"):
            row = json.loads(raw)
            conversations[row["conversation_id"]].lines.append(
                Line(
                    row["message_id"],
                    row["sender_id"],
                    row["sent_at"],
                    row["text"],
                    row.get("sender_age_band") or "unknown",
                    bool(row.get("has_image")),
                )
            )
    return list(conversations.values())


def _int(value: str | None) -> int | None:
    return int(value) if value not in (None, "") else None


def of_split(conversations: Iterable[Conversation], split: str) -> list[Conversation]:
    return [c for c in conversations if c.split == split]


def segments(
    conversations: Iterable[Conversation], seed: int = 7, words: int = SEGMENT_WORDS
) -> list[Segment]:
    """Each conversation cut into consecutive runs of about ``words`` words (60-140%),
    messages joined by spaces, no speakers; a short tail joins only if long enough."""
    rng = random.Random(seed)
    out: list[Segment] = []
    for conversation in conversations:
        texts: list[str] = []
        count, k = 0, 0
        target = rng.randint(int(words * 0.6), int(words * 1.4))
        for line in conversation.lines:
            texts.append(line.text)
            count += len(line.text.split())
            if count >= target:
                out.append(
                    Segment(f"{conversation.id}#{k}", " ".join(texts), conversation.label, conversation.kind)
                )
                texts, count, k = [], 0, k + 1
                target = rng.randint(int(words * 0.6), int(words * 1.4))
        if texts and (count >= words * 0.3 or k == 0):
            out.append(
                Segment(f"{conversation.id}#{k}", " ".join(texts), conversation.label, conversation.kind)
            )
    return out


def sessions(conversations: Iterable[Conversation], low: int, high: int | None) -> list[Conversation]:
    """Consecutive sessions of ``low``-``high`` messages cut from each conversation (the
    child's messages keep their band, everyone else's is hidden), as a service sees
    a chat that started before it was watched."""
    out = []
    for conversation in conversations:
        size = high or len(conversation.lines)
        for start in range(0, len(conversation.lines), size):
            lines = conversation.lines[start : start + size]
            if len(lines) < low:
                continue
            hidden = [
                replace(line, band=line.band if line.band in ("child", "teen") else "unknown")
                for line in lines
            ]
            if conversation.label == 1:
                hidden = [
                    replace(line, band="unknown") if line.sender_id == conversation.groomer else line
                    for line in hidden
                ]
            out.append(
                replace(conversation, id=f"{conversation.id}@{start}", lines=hidden, first_tactic=None)
            )
    return out


# The kinds written as long, rambling, ordinary chats (not the hard negatives that pack
# look-alike tactics into a few dozen messages).
LONG_KINDS = ("long_friendly", "long_adult")


def long_harmless(
    conversations: Sequence[Conversation],
    min_words: int = 4000,
    seed: int = 11,
    kinds: Sequence[str] | None = LONG_KINDS,
) -> list[Conversation]:
    """Harmless conversations joined, two speakers at a time, until each is over
    ``min_words`` words: a long, friendly, harmless chat."""
    rng = random.Random(seed)
    negatives = [c for c in conversations if c.label == 0 and (kinds is None or c.kind in kinds)]
    by_length = sorted(negatives, key=lambda c: -c.words)
    out: list[Conversation] = []
    pool = list(by_length)
    rng.shuffle(pool)
    while pool:
        parts, words = [], 0
        while pool and words < min_words:
            part = pool.pop()
            parts.append(part)
            words += part.words
        if words < min_words:
            break
        names: dict[str, str] = {}
        lines = []
        for part in parts:
            speakers = list(dict.fromkeys(line.sender_id for line in part.lines))
            for line in part.lines:
                names.setdefault(line.sender_id, f"p{speakers.index(line.sender_id) % 2}")
                lines.append(
                    replace(line, sender_id=f"p{speakers.index(line.sender_id) % 2}", band="unknown")
                )
        out.append(Conversation(f"long-{len(out):03d}", 0, "long_harmless", "test", "", lines))
    return out


def evasion_copy(conversations: Sequence[Conversation], seed: int = 5) -> list[Conversation]:
    """The conversations with 60% of their messages rewritten the way offenders write
    around filters (``evalset/evade.py``: leet, spacing, zero-width, homoglyphs...)."""
    import sys

    if str(HERE / "evalset") not in sys.path:
        sys.path.insert(0, str(HERE / "evalset"))
    from evade import evade

    rng = random.Random(seed)
    out = []
    for conversation in conversations:
        lines = [
            replace(line, text=evade(line.text, rng)) if rng.random() < 0.6 else line
            for line in conversation.lines
        ]
        out.append(replace(conversation, id=conversation.id + "-evasion", lines=lines))
    return out


def grouped(conversations: Iterable[Conversation]) -> dict[str, list[Conversation]]:
    out: dict[str, list[Conversation]] = defaultdict(list)
    for conversation in conversations:
        out[conversation.kind].append(conversation)
    return out
