"""The signals a conversation keeps: the unit of every explanation, and their log.

A ``Signal`` is one tactic found on one message (category, excerpt, weight,
reason, stage, sender). A conversation keeps its strongest signals in a
``SignalLog`` that stores them in their saved (row) form, so the service can
restore, extend and save a long conversation's state without parsing it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

MAX_KEPT_SIGNALS = 200
# Signals the log may hold past MAX_KEPT_SIGNALS before it is pruned back: a
# restored log is pruned (so parsed) once per this many new signals, not on every one.
PRUNE_SLACK = 56


@dataclass(frozen=True, slots=True)
class Signal:
    """A tactic found on one message: the unit of every explanation."""

    category: str
    message_index: int
    excerpt: str
    weight: float
    reason: str = ""
    stage: str = ""
    sender_id: str | None = None
    message_id: str | None = None

    def to_row(self) -> list[Any]:
        """The saved form: the fields in ``SIGNAL_FIELDS`` order (no repeated key names)."""
        return [
            self.category,
            self.message_index,
            self.excerpt,
            self.weight,
            self.reason,
            self.stage,
            self.sender_id,
            self.message_id,
        ]

    def to_dict(self) -> dict[str, Any]:
        # By hand: dataclasses.asdict deep-copies each field, a tenth of the engine's time per message.
        return {
            "category": self.category,
            "message_index": self.message_index,
            "excerpt": self.excerpt,
            "weight": self.weight,
            "reason": self.reason,
            "stage": self.stage,
            "sender_id": self.sender_id,
            "message_id": self.message_id,
        }


SIGNAL_FIELDS = (
    "category",
    "message_index",
    "excerpt",
    "weight",
    "reason",
    "stage",
    "sender_id",
    "message_id",
)
_CATEGORY, _WEIGHT, _STAGE = 0, 3, 5  # positions in a saved row


class SignalLog:
    """The kept signals of a conversation, held in their saved (row) form.

    The service restores and saves a conversation's state for every batch of
    its messages, and a message needs only to append rows, count them and know
    the (category, stage) pairs seen. So a restored log keeps the saved rows as
    their JSON text, unparsed, plus the rows added since; saving splices the new
    rows into that text. The text is parsed only when the rows are read (the
    ``signals`` objects, explanations, case evidence) or pruned. Rows are lists
    rather than dicts: a long conversation's saved state is about half the size.

    Pruning has hysteresis: once the log holds more than ``MAX_KEPT_SIGNALS +
    PRUNE_SLACK`` rows it keeps the strongest ``MAX_KEPT_SIGNALS`` and each
    category's first, in message order.
    """

    __slots__ = ("_count", "_new", "_objects", "_pairs", "_rows", "_text")

    def __init__(self) -> None:
        # Every row is parse(_text) + _new while _text is set, and _rows once parsed.
        self._text: str | None = "[]"  # None: dump _rows (after a prune, or rows saved as lists)
        self._new: list[list[Any]] = []
        self._rows: list[list[Any]] | None = []
        self._count = 0
        self._pairs: set[tuple[str, str]] = set()
        self._objects: list[Signal] | None = None

    @classmethod
    def load(cls, saved: list[Any]) -> SignalLog:
        """Rows saved as a list by state versions 1 (dicts) and 2 (lists)."""
        log = cls()
        log._set_rows(
            [[row.get(f) for f in SIGNAL_FIELDS] if isinstance(row, dict) else list(row) for row in saved]
        )
        return log

    @classmethod
    def restore(cls, text: str, count: int, pairs: Iterable[Sequence[str]]) -> SignalLog:
        """Rows saved as JSON text (state version 3), left unparsed."""
        log = cls()
        log._text = text
        log._rows = None
        log._count = count
        log._pairs = {(c, s) for c, s in pairs}
        return log

    def _set_rows(self, rows: list[list[Any]]) -> None:
        self._rows = rows
        self._text = None
        self._new = []
        self._count = len(rows)
        self._pairs = {(str(r[_CATEGORY]), str(r[_STAGE])) for r in rows}

    @property
    def parsed(self) -> bool:
        """Whether the rows are held as lists (built or parsed), not only as saved text."""
        return self._rows is not None

    @property
    def rows(self) -> list[list[Any]]:
        """Every kept row, in message order (parses the saved text)."""
        if self._rows is None:
            self._rows = orjson.loads(self._text or "[]")
            self._rows.extend(self._new)
        return self._rows

    @property
    def count(self) -> int:
        """How many rows are kept (known without parsing)."""
        return self._count

    @property
    def pairs(self) -> set[tuple[str, str]]:
        """The distinct (category, stage) of the kept rows."""
        return self._pairs

    def extend(self, signals: list[Signal]) -> None:
        """Add new signals; past the limit and its slack prune (see the class docstring)."""
        if not signals:
            return
        new = [s.to_row() for s in signals]
        if self._text is not None:
            self._new.extend(new)
        if self._rows is not None:
            self._rows.extend(new)
        if self._objects is not None:
            self._objects.extend(signals)
        self._count += len(new)
        self._pairs.update((str(s.category), str(s.stage)) for s in signals)
        if self._count > MAX_KEPT_SIGNALS + PRUNE_SLACK:
            self._prune()

    def _prune(self) -> None:
        """Keep the strongest ``MAX_KEPT_SIGNALS`` and each category's first."""
        rows = self.rows
        firsts: dict[str, int] = {}
        for i, row in enumerate(rows):
            firsts.setdefault(row[_CATEGORY], i)
        strongest = sorted(range(len(rows)), key=lambda i: -rows[i][_WEIGHT])
        keep = set(strongest[:MAX_KEPT_SIGNALS]) | set(firsts.values())
        if self._objects is not None:
            self._objects = [s for i, s in enumerate(self._objects) if i in keep]
        self._set_rows([row for i, row in enumerate(rows) if i in keep])

    def to_json(self) -> str:
        """The rows as a JSON array (``orjson.dumps(rows)``); old rows are not parsed."""
        if self._text is None:
            self._text = orjson.dumps(self._rows).decode()
        elif self._new:
            added = orjson.dumps(self._new).decode()
            head = self._text.rstrip()[:-1].rstrip()  # the saved array without its "]"
            self._text = head + ("" if head.endswith("[") else ",") + added[1:]
            self._new = []
        return self._text

    def saved_pairs(self) -> list[list[str]]:
        """The (category, stage) pairs as saved: sorted 2-lists."""
        return [[c, s] for c, s in sorted(self._pairs)]

    def signals(self) -> list[Signal]:
        """The kept signals as objects, in message order."""
        if self._objects is None:
            self._objects = [Signal(*row) for row in self.rows]
        return self._objects


@dataclass(frozen=True, slots=True)
class MessageAssessment:
    """What one message added: its own risk and signals, and the running risk."""

    message_index: int
    risk: float
    signals: list[Signal]
    conversation_risk: float
    stage: str
    flagged: bool
