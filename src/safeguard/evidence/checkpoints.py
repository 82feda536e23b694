"""Signed checkpoints of the chain's head, kept outside the database.

In the manner of Certificate Transparency's signed tree heads: the service
signs (Ed25519, key in a file) the head's sequence number and hash, the
time, a fingerprint of the head record and how far the decision digests
reach, and appends the checkpoint as one JSON line to a file (and queues it
for webhook targets subscribed to ``audit_checkpoint``). Whoever holds the
file and the public key can later tell whether the chain still extends
every checkpoint: a database writer cannot move the head back, rehash, or
wipe the chain without the checkpoints showing it.

Before signing, the service checks the chain still extends the last
checkpoint in the file (and that the records since are linked), so it never
signs a head that contradicts an earlier one.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.orm import Session

from safeguard.config import Settings
from safeguard.core.clock import utcnow
from safeguard.errors import InputError, SafeguardError
from safeguard.evidence import chain, keys
from safeguard.evidence.case_state import iso_utc
from safeguard.evidence.decision_digest import DIGEST_ACTION
from safeguard.evidence.decision_sealing import last_record
from safeguard.evidence.models import EvidenceHead, EvidenceRecord

FORMAT = "safeguard-audit-checkpoint/1"
WEBHOOK_EVENT = "audit_checkpoint"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class CheckpointRefused(SafeguardError):
    """The chain contradicts the last checkpoint: the service will not sign it."""


def checkpoint_path(settings: Settings) -> Path:
    """The checkpoint file (JSON lines)."""
    return settings.audit.checkpoint_path or settings.data_dir / "audit-checkpoints.jsonl"


@dataclass(slots=True)
class Checkpoint:
    """One signed head. ``fields`` is everything signed; ``line`` is where it was read from."""

    fields: dict[str, Any]
    signature: str
    line: int | None = None

    @property
    def seq(self) -> int:
        """The head's sequence number."""
        return int(self.fields["seq"])

    @property
    def head_hash(self) -> str:
        """The head record's chain hash."""
        return str(self.fields["head_hash"])

    @property
    def key_id(self) -> str:
        """The signing key's fingerprint."""
        return str(self.fields["key_id"])

    @property
    def head_record(self) -> dict | None:
        """``at``, ``action`` and ``payload_sha256`` of the head record (to recognise it if moved)."""
        return self.fields.get("head_record")

    @property
    def coverage(self) -> dict:
        """How far the table digests reached at this head."""
        return self.fields.get("coverage") or {}

    def message(self) -> bytes:
        """The signed bytes: canonical JSON of every field but the signature."""
        return chain.canonical(self.fields).encode("utf-8")

    def signed_by(self, public_key: Ed25519PublicKey) -> bool:
        """True when the signature verifies with ``public_key``."""
        return keys.signature_valid(public_key, self.message(), self.signature)

    def to_dict(self) -> dict[str, Any]:
        """The checkpoint as written: its fields and the signature."""
        return {**self.fields, "signature": self.signature}

    def where(self) -> str:
        """``line N`` for messages."""
        return f"line {self.line}" if self.line is not None else "the checkpoint"


def fingerprint(record: EvidenceRecord) -> dict[str, str]:
    """What identifies a record regardless of its seq and hash."""
    return {"at": record.at, "action": record.action, "payload_sha256": record.payload_sha256}


def coverage(session: Session) -> dict[str, Any]:
    """How far the ``message_decisions`` digests reach."""
    last = last_record(session, DIGEST_ACTION)
    covered_to = json.loads(last.payload).get("to") if last is not None and last.payload else None
    return {"message_decisions": {"digest_seq": last.seq if last else None, "covered_to": covered_to}}


def read_head(session: Session) -> tuple[int, str]:
    """The head row's seq and hash (an empty chain without a head row is ``(0, GENESIS)``)."""
    head = session.get(EvidenceHead, 1)
    return (head.seq, head.hash) if head is not None else (0, chain.GENESIS)


def sign_head(
    session: Session, key: Ed25519PrivateKey, head: tuple[int, str], now: datetime | None = None
) -> Checkpoint:
    """A checkpoint of ``head`` (see :func:`read_head`), signed with ``key``."""
    seq, head_hash = head
    record = session.get(EvidenceRecord, seq) if seq else None
    fields = {
        "format": FORMAT,
        "seq": seq,
        "head_hash": head_hash,
        "at": iso_utc(now or utcnow()),
        "key_id": keys.key_id(key.public_key()),
        "head_record": fingerprint(record) if record is not None else None,
        "coverage": coverage(session),
    }
    return Checkpoint(fields, keys.sign(key, chain.canonical(fields).encode("utf-8")))


def consistency_problem(session: Session, last: Checkpoint | None, head: tuple[int, str]) -> str | None:
    """Why the chain up to ``head`` does not extend ``last`` (or its records do not link up), or None."""
    head_seq, head_hash = head
    if last is None:
        result = chain.verify(session)
        return None if result.ok else result.describe()
    if head_seq < last.seq:
        return f"the head is record {head_seq} but the last checkpoint signed record {last.seq}"
    prev_hash = chain.GENESIS
    if last.seq:
        signed = session.get(EvidenceRecord, last.seq)
        if signed is None or signed.hash != last.head_hash:
            return f"record {last.seq} no longer has the hash the last checkpoint signed"
        prev_hash = signed.hash
    expected = last.seq + 1
    for record in chain.iter_records(session, after=last.seq):
        if record.seq > head_seq:
            break
        problem = chain.check_link(record, expected, prev_hash)
        if problem is not None:
            return f"record {record.seq}: {problem}"
        prev_hash, expected = record.hash, record.seq + 1
    if expected - 1 != head_seq or prev_hash != head_hash:
        return f"the chain ends at record {expected - 1} but the head says {head_seq}"
    return None


def parse_line(text: str, path: Path, number: int | None) -> Checkpoint:
    """One checkpoint line; InputError naming the file, line and field when malformed."""

    def bad(reason: str, name: str | None = None) -> InputError:
        return InputError(reason, path=str(path), line=number, field=name)

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise bad(f"not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise bad("a checkpoint is a JSON object")
    if data.get("format") != FORMAT:
        raise bad(f"must be {FORMAT!r}", "format")
    seq = data.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise bad("must be a whole number >= 0", "seq")
    if not isinstance(data.get("head_hash"), str) or not _HEX64.match(data["head_hash"]):
        raise bad("must be 64 lowercase hex digits", "head_hash")
    for name in ("at", "key_id", "signature"):
        if not isinstance(data.get(name), str) or not data[name]:
            raise bad("must be a non-empty string", name)
    try:
        datetime.fromisoformat(data["at"])
    except ValueError:
        raise bad("must be an ISO 8601 time", "at") from None
    head_record = data.get("head_record")
    if head_record is not None and not (
        isinstance(head_record, dict)
        and all(isinstance(head_record.get(k), str) for k in ("at", "action", "payload_sha256"))
    ):
        raise bad("must be null or an object with at, action and payload_sha256", "head_record")
    if not isinstance(data.get("coverage", {}), dict):
        raise bad("must be an object", "coverage")
    signature = data.pop("signature")
    return Checkpoint(data, signature, number)


def read_checkpoints(path: Path) -> list[Checkpoint]:
    """Every checkpoint in a JSON-lines file, in file order (blank lines skipped)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("checkpoint file not found", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the checkpoint file ({exc})", path=str(path)) from None
    return [
        parse_line(line, path, number)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]


def last_checkpoint(path: Path, block: int = 8192) -> Checkpoint | None:
    """The file's last checkpoint, read from the end (the file may be long)."""
    if not path.exists():
        return None
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        end = handle.tell()
        tail = b""
        position = end
        while position > 0:
            step = min(block, position)
            position -= step
            handle.seek(position)
            tail = handle.read(step) + tail
            if tail.rstrip(b"\n").count(b"\n") >= 1:
                break
    lines = [line for line in tail.decode("utf-8", errors="replace").splitlines() if line.strip()]
    if not lines:
        return None
    return parse_line(lines[-1], path, None)


def ensure_consistent(
    session: Session, settings: Settings, last: Checkpoint | None = None
) -> tuple[int, str]:
    """The head, once checked to extend the last checkpoint in the file; ``CheckpointRefused`` if not."""
    path = checkpoint_path(settings)
    last = last if last is not None else last_checkpoint(path)
    head = read_head(session)
    problem = consistency_problem(session, last, head)
    if problem is not None:
        raise CheckpointRefused(f"the chain contradicts the last checkpoint in {path}: {problem}")
    return head


@dataclass(slots=True)
class CheckpointWritten:
    """A checkpoint appended to the file (and how many webhook deliveries were queued)."""

    checkpoint: Checkpoint
    path: Path
    key_created: bool = False
    webhooks: int = 0


def write_checkpoint(
    session: Session, settings: Settings, *, only_if_moved: bool = False
) -> CheckpointWritten | None:
    """Sign the head and append it to the checkpoint file; refuse when the chain contradicts the
    file's last checkpoint. With ``only_if_moved``, nothing is written while the head is unchanged."""
    key, created = keys.ensure_signing_key(settings)
    path = checkpoint_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        last = last_checkpoint(path)
        if last is not None and last.key_id != keys.key_id(key.public_key()):
            raise CheckpointRefused(
                f"{path}: its last checkpoint was signed by key {last.key_id}, the audit key is "
                f"{keys.key_id(key.public_key())}: keep the old key or start a new checkpoint file"
            )
        head = ensure_consistent(session, settings, last)
        checkpoint = sign_head(session, key, head)
        if only_if_moved and last is not None and last.seq == checkpoint.seq:
            return None
        line = json.dumps(checkpoint.to_dict(), sort_keys=True, separators=(",", ":")) + "\n"
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return CheckpointWritten(checkpoint, path, key_created=created)
