"""Digests of the ``message_decisions`` table, kept in the chain, and their check.

Message decisions are too many to append one record each (every writer
would queue on the chain's head), so the maintenance task appends a
``decision_digest`` record for each ``created_at`` range ``[from, to)`` once
it is older than a grace period: the row count and the SHA-256 of the rows
(every column, canonical JSON with sorted keys, one line each) in the order
``(created_at, conversation_id, message_id)``. Ranges follow one another
without gaps; the first is open below. The columns come from the table's
metadata and are listed in each record, so columns added later do not
change an old digest.

The retention purge deletes old rows; a ``decisions_purged`` record names
its cutoff, re-digests the part of the range it cut (``resealed``) after
checking the range still matched, and lists any range that did not
(``changed``). ``DecisionLedger`` replays both kinds of record;
``check_table`` recomputes every range and names each that differs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import DateTime, Table, select
from sqlalchemy.orm import Session

from safeguard.core.clock import aware
from safeguard.evidence.case_state import iso_utc
from safeguard.store.db import Base
from safeguard.store.sql import bytewise

TABLE = "message_decisions"
ORDER = ("created_at", "conversation_id", "message_id")
DIGEST_ACTION = "decision_digest"
PURGE_ACTION = "decisions_purged"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def decisions_table() -> Table:
    """The ``message_decisions`` table as the models define it now."""
    import safeguard.policy.models  # noqa: F401  (registers the table)

    return Base.metadata.tables[TABLE]


def parse_time(value: str | None) -> datetime | None:
    """A recorded range bound back as an aware UTC datetime."""
    return None if value is None else datetime.fromisoformat(value).astimezone(UTC)


def _fallback(value: Any) -> Any:
    """Values orjson does not encode itself."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot digest a {type(value).__name__} value")


class RowCanon:
    """Turns rows into the bytes a digest hashes: canonical JSON of ``columns`` (sorted keys,
    timestamps as UTC ISO 8601 with microseconds, the same on SQLite and PostgreSQL) and a newline.

    ``present`` is the order of the values in each row handed to it (default: ``columns``).
    """

    def __init__(self, columns: list[str], present: list[str] | None = None) -> None:
        table = decisions_table()
        present = present or columns
        self.columns = columns
        self.positions = [present.index(name) for name in columns]
        self.timestamps = [isinstance(table.c[name].type, DateTime) for name in columns]

    def __call__(self, row: Any) -> bytes:
        """The canonical line of one row."""
        record = {}
        for name, position, timestamp in zip(self.columns, self.positions, self.timestamps, strict=True):
            value = row[position]
            record[name] = iso_utc(value) if timestamp and value is not None else value
        return orjson.dumps(record, option=orjson.OPT_SORT_KEYS, default=_fallback) + b"\n"


def ordered_rows(
    session: Session,
    columns: list[str],
    start: datetime | None,
    end: datetime | None,
    batch: int = 2000,
) -> Iterator[Any]:
    """Rows (tuples in ``columns`` order) with ``start <= created_at < end`` (either bound
    optional) in digest order, streamed."""
    table = decisions_table()
    order = [table.c[name] if name == "created_at" else bytewise(table.c[name], session) for name in ORDER]
    query = select(*[table.c[name] for name in columns]).order_by(*order)
    if start is not None:
        query = query.where(table.c.created_at >= start)
    if end is not None:
        query = query.where(table.c.created_at < end)
    yield from session.execute(query.execution_options(yield_per=batch))


@dataclass(slots=True)
class RangeHash:
    """A running count and SHA-256 of rows."""

    rows: int = 0
    sha: Any = field(default_factory=hashlib.sha256)

    def add(self, line: bytes) -> None:
        """Hash one canonical row."""
        self.rows += 1
        self.sha.update(line)

    def hexdigest(self) -> str:
        """The SHA-256 so far."""
        return self.sha.hexdigest()


def digest_range(
    session: Session, columns: list[str], start: datetime | None, end: datetime, split: datetime | None = None
) -> tuple[RangeHash, RangeHash | None]:
    """The digest of ``[start, end)``; with ``split``, also of ``[split, end)`` (one scan)."""
    whole = RangeHash()
    tail = RangeHash() if split is not None else None
    canon = RowCanon(columns)
    created_at = columns.index("created_at")
    for row in ordered_rows(session, columns, start, end):
        line = canon(row)
        whole.add(line)
        if tail is not None and split is not None and aware(row[created_at]) >= split:
            tail.add(line)
    return whole, tail


@dataclass(slots=True)
class DigestRange:
    """One ``decision_digest`` record and what later purges did to its range."""

    seq: int
    start: datetime | None
    end: datetime
    rows: int
    sha256: str
    columns: list[str]
    purged_before: datetime | None = None
    purge_seq: int | None = None
    problem: str | None = None

    @property
    def live_start(self) -> datetime | None:
        """Where the rows still held start: the purge cutoff once a purge cut the range."""
        if self.purged_before is None:
            return self.start
        return self.purged_before if self.start is None else max(self.start, self.purged_before)

    @property
    def emptied(self) -> bool:
        """True once a purge removed the whole range."""
        return self.purged_before is not None and self.purged_before >= self.end

    def label(self) -> str:
        """``[from, to)`` as people read it."""
        start = iso_utc(self.start) if self.start is not None else "the beginning"
        return f"[{start}, {iso_utc(self.end)})"


def digest_payload(
    start: datetime | None, end: datetime, digest: RangeHash, columns: list[str]
) -> dict[str, Any]:
    """The payload of a ``decision_digest`` record."""
    return {
        "table": TABLE,
        "from": iso_utc(start),
        "to": iso_utc(end),
        "rows": digest.rows,
        "sha256": digest.hexdigest(),
        "columns": list(columns),
        "order": list(ORDER),
    }


@dataclass(slots=True)
class DecisionLedger:
    """The decision ranges the chain holds, replayed in chain order."""

    ranges: list[DigestRange] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    _live: int = 0

    @property
    def covered_to(self) -> datetime | None:
        """Where the digests end (rows from here on are not covered yet)."""
        return self.ranges[-1].end if self.ranges else None

    @property
    def last_digest_seq(self) -> int | None:
        """The seq of the newest ``decision_digest`` record."""
        return self.ranges[-1].seq if self.ranges else None

    def live(self) -> list[DigestRange]:
        """Ranges not yet wholly purged."""
        return self.ranges[self._live :]

    def add_digest(self, seq: int, payload: dict) -> None:
        """Replay a ``decision_digest`` record."""
        start, end = parse_time(payload.get("from")), parse_time(payload["to"])
        previous = self.ranges[-1] if self.ranges else None
        if previous is not None and start != previous.end:
            self.problems.append(
                f"decision_digest record {seq} starts at {payload.get('from')}, "
                f"not where record {previous.seq} ended ({iso_utc(previous.end)}): a gap in the coverage"
            )
        self.ranges.append(
            DigestRange(
                seq, start, end, int(payload["rows"]), str(payload["sha256"]), list(payload["columns"])
            )
        )

    def add_purge(self, seq: int, payload: dict) -> None:
        """Replay a ``decisions_purged`` record: ranges below its cutoff emptied, the cut one resealed."""
        cutoff = parse_time(payload["before"])
        assert cutoff is not None
        changed = {int(c["digest_seq"]): str(c["problem"]) for c in payload.get("changed") or []}
        resealed = payload.get("resealed")
        for item in self.ranges[self._live :]:
            if item.start is not None and item.start >= cutoff:
                break
            if item.seq in changed:
                item.problem = f"{changed[item.seq]} before the retention purge (record {seq}) removed them"
            if item.purged_before is not None and item.purged_before >= cutoff:
                continue
            item.purged_before, item.purge_seq = cutoff, seq
            if item.emptied:
                continue
            if resealed and int(resealed["digest_seq"]) == item.seq:
                item.rows, item.sha256 = int(resealed["rows"]), str(resealed["sha256"])
            elif item.problem is None:
                item.problem = f"cut by the retention purge (record {seq}) without a new digest"
        while self._live < len(self.ranges) and self.ranges[self._live].emptied:
            self._live += 1


@dataclass(slots=True)
class RangeProblem:
    """A decision range whose rows no longer match the chain."""

    range: DigestRange
    message: str


@dataclass(slots=True)
class TableCheck:
    """The outcome of recomputing every decision range."""

    ranges: int = 0
    rows: int = 0
    uncovered_rows: int = 0
    problems: list[RangeProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def check_table(session: Session, ledger: DecisionLedger) -> TableCheck:
    """Recompute each range's count and digest from the table in one ordered scan."""
    result = TableCheck(ranges=len(ledger.ranges))
    table = decisions_table()
    present = [c.name for c in table.columns]
    hashes: dict[int, RangeHash] = {}
    intruders: dict[int, int] = {}
    missing = {r.seq: [c for c in r.columns if c not in present] for r in ledger.ranges}
    canons: dict[tuple[str, ...], RowCanon] = {}
    created_at = present.index("created_at")
    index = 0
    for row in ordered_rows(session, present, None, None):
        created = aware(row[created_at])
        while index < len(ledger.ranges) and created >= ledger.ranges[index].end:
            index += 1
        if index == len(ledger.ranges):
            result.uncovered_rows += 1
            continue
        item = ledger.ranges[index]
        live_start = item.live_start
        if live_start is not None and created < live_start:
            intruders[item.seq] = intruders.get(item.seq, 0) + 1
            continue
        if not missing[item.seq]:
            key = tuple(item.columns)
            canon = canons.get(key) or canons.setdefault(key, RowCanon(item.columns, present))
            hashes.setdefault(item.seq, RangeHash()).add(canon(row))
            result.rows += 1
    for item in ledger.ranges:
        digest = hashes.get(item.seq) or RangeHash()
        message = _range_problem(item, digest, intruders.get(item.seq, 0), missing[item.seq])
        if message is not None:
            result.problems.append(RangeProblem(item, message))
    if result.uncovered_rows:
        result.notes.append(
            f"{result.uncovered_rows} {TABLE} rows are newer than the last digest (not covered yet)"
        )
    return result


def describe_change(expected_rows: int, expected_sha256: str, digest: RangeHash) -> str | None:
    """How rows hashed now differ from a recorded count and digest, or None when they match."""
    if digest.rows == expected_rows and digest.hexdigest() == expected_sha256:
        return None
    if digest.rows < expected_rows:
        return f"rows deleted ({digest.rows} rows now, {expected_rows} when digested)"
    if digest.rows > expected_rows:
        return f"rows inserted ({digest.rows} rows now, {expected_rows} when digested)"
    return f"rows edited ({digest.rows} rows as when digested, but their SHA-256 differs)"


def _range_problem(item: DigestRange, digest: RangeHash, intruders: int, missing: list[str]) -> str | None:
    where = f"{TABLE} rows created in {item.label()} (decision_digest record {item.seq})"
    if item.problem is not None:
        return f"{where}: {item.problem}"
    if missing:
        return (
            f"{where}: the table no longer has column(s) {', '.join(missing)}, so the range cannot be checked"
        )
    if intruders:
        return (
            f"{where}: {intruders} rows older than the retention cutoff {iso_utc(item.purged_before)} "
            f"(purge record {item.purge_seq}): rows inserted after the purge"
        )
    expected_rows, expected_sha = (0, EMPTY_SHA256) if item.emptied else (item.rows, item.sha256)
    change = describe_change(expected_rows, expected_sha, digest)
    return None if change is None else f"{where}: {change}"
