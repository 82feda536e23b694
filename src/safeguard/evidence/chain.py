"""The append-only evidence and audit chain.

Every record's hash is ``sha256(prev_hash || canonical_json(header))`` where the
header holds the sequence number, time, case, kind, action, actor and the
SHA-256 of the payload. Changing any field, deleting a record or swapping two
records breaks a hash or a link, and ``verify`` names the first bad record.
The retention job may erase a payload (``purged``), never a record: the
payload digest stays in the header and a later ``purge`` record lists it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from safeguard.core.clock import utcnow
from safeguard.evidence.models import EvidenceHead, EvidenceRecord

GENESIS = "0" * 64
KINDS = ("evidence", "audit")


def canonical(value: Any) -> str:
    """Canonical JSON: sorted keys, no whitespace, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def header(record: EvidenceRecord) -> dict:
    """The hashed fields of a record (the payload enters through its digest)."""
    return {
        "seq": record.seq,
        "case_id": record.case_id,
        "kind": record.kind,
        "action": record.action,
        "actor": record.actor,
        "at": record.at,
        "payload_sha256": record.payload_sha256,
    }


def record_hash(prev_hash: str, record: EvidenceRecord) -> str:
    """The chain hash of ``record`` after ``prev_hash``."""
    return _sha(prev_hash + canonical(header(record)))


def append(
    session: Session,
    *,
    kind: str,
    action: str,
    actor: str,
    payload: dict,
    case_id: str | None = None,
    at: datetime | None = None,
) -> EvidenceRecord:
    """Append one record after the chain's tip (the caller commits).

    The head row is updated first, which takes the write lock (a row lock on
    PostgreSQL, the database lock on SQLite), so concurrent writers queue up
    and every record links to the one before it.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown record kind {kind!r}")
    head = lock_head(session)
    body = canonical(payload)
    record = EvidenceRecord(
        seq=head.seq + 1,
        case_id=case_id,
        kind=kind,
        action=action,
        actor=actor,
        at=(at or utcnow()).isoformat(timespec="microseconds"),
        payload=body,
        payload_sha256=_sha(body),
        prev_hash=head.hash,
        purged=False,
    )
    record.hash = record_hash(head.hash, record)
    session.add(record)
    head.seq = record.seq
    head.hash = record.hash
    session.flush()
    return record


def lock_head(session: Session) -> EvidenceHead:
    """The head row, locked for this transaction (writers of the chain queue up here)."""
    session.execute(update(EvidenceHead).where(EvidenceHead.id == 1).values(seq=EvidenceHead.seq))
    return session.execute(select(EvidenceHead).where(EvidenceHead.id == 1).with_for_update()).scalar_one()


def payload_of(record: EvidenceRecord) -> dict | None:
    """The decoded payload, or None once purged."""
    return None if record.payload is None else json.loads(record.payload)


def records_for_case(session: Session, case_id: str) -> list[EvidenceRecord]:
    """Every record of one case, in chain order."""
    return list(
        session.execute(
            select(EvidenceRecord).where(EvidenceRecord.case_id == case_id).order_by(EvidenceRecord.seq)
        ).scalars()
    )


@dataclass(slots=True)
class VerifyResult:
    """The outcome of walking the chain: ok, or the first bad record and why."""

    ok: bool
    records: int
    first_bad_seq: int | None = None
    problem: str | None = None
    head_seq: int = 0
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """One line for people."""
        if self.ok:
            return f"ok: {self.records} records, chain intact (head {self.head_seq})"
        return f"TAMPERED at record {self.first_bad_seq}: {self.problem}"


def iter_records(session: Session, *, after: int = 0, batch: int = 2000) -> Iterator[Any]:
    """Every record after seq ``after``, in chain order, read ``batch`` at a time.

    Rows carry the record's columns as attributes; they are not ORM objects, so
    the session does not keep them and a walk of a long chain holds one batch.
    """
    table = EvidenceRecord.__table__
    last = after
    while True:
        query = select(table).where(table.c.seq > last).order_by(table.c.seq).limit(batch)
        rows = list(session.execute(query))
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify(
    session: Session, batch: int = 2000, visit: Callable[[EvidenceRecord], None] | None = None
) -> VerifyResult:
    """Walk the chain in order and report the first record whose hash or link is wrong.

    Detects a changed field or payload (hash or digest mismatch), a deleted
    record (a gap, or a link to the wrong predecessor), reordered records
    (links out of order), records removed from the end (head mismatch), and a
    payload erased without a ``purge`` record saying so. With ``visit``, the
    walk goes on past a bad record and hands every record to ``visit``.
    """
    head = session.get(EvidenceHead, 1)
    head_seq = head.seq if head else 0
    head_hash = head.hash if head else GENESIS
    prev_hash = GENESIS
    expected_seq = 1
    count = 0
    purged_seqs: set[int] = set()
    erased: list[int] = []
    last = 0
    first_bad: VerifyResult | None = None
    for record in iter_records(session, batch=batch):
        count += 1
        bad = _check(record, expected_seq, prev_hash)
        if bad is not None and first_bad is None:
            first_bad = VerifyResult(False, count, record.seq, bad, head_seq)
            if visit is None:
                return first_bad
        if record.payload is None:
            erased.append(record.seq)
        elif record.action == "purge":
            purged_seqs.update(int(s) for s in json.loads(record.payload).get("erased_seqs", []))
        if visit is not None:
            visit(record)
        prev_hash = record.hash
        expected_seq = record.seq + 1
        last = record.seq
    if first_bad is not None:
        first_bad.records = count
        return first_bad
    if head is not None and (head_seq != last or head_hash != prev_hash):
        return VerifyResult(
            False,
            count,
            last + 1,
            f"chain ends at record {last} but the head says {head_seq}: records removed from the end",
            head_seq,
        )
    for seq in erased:
        if seq not in purged_seqs:
            return VerifyResult(False, count, seq, "payload erased without a purge record", head_seq)
    return VerifyResult(True, count, head_seq=head_seq)


def check_link(record: EvidenceRecord, expected_seq: int, prev_hash: str) -> str | None:
    """What is wrong with ``record`` as the successor of ``prev_hash`` at ``expected_seq``, or None."""
    return _check(record, expected_seq, prev_hash)


def _check(record: EvidenceRecord, expected_seq: int, prev_hash: str) -> str | None:
    if record.seq != expected_seq:
        return f"record {expected_seq} is missing (next stored record is {record.seq})"
    if record.prev_hash != prev_hash:
        return "link to the previous record is wrong (record deleted, inserted or reordered)"
    if record.hash != record_hash(prev_hash, record):
        return "record hash does not match its contents (record changed)"
    if record.payload is not None and _sha(record.payload) != record.payload_sha256:
        return "payload does not match its digest (evidence changed)"
    if record.payload is None and not record.purged:
        return "payload missing but the record is not marked purged"
    return None
