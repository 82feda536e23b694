"""The full audit: the chain's links, its consistency with signed checkpoints, and the tables.

One walk of the chain checks every link (``chain.verify``), collects what
the checkpoints need (the hash at each signed seq, where each signed head
record now sits), replays each case's state and the decision digests.
Then each checkpoint, each case row and each decision range is checked.
Every problem is a ``Finding`` naming the check that failed: ``chain`` (a
hash or link), ``wiped``, ``truncated``, ``head_moved_back``,
``record_deleted``, ``renumbered``, ``rewritten`` (rehashed),
``checkpoint_order`` (a later checkpoint signs a shorter or other chain),
``bad_signature``, ``wrong_key``, ``coverage``, ``case_row``, ``decisions``
and ``record_payload``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from safeguard.cases.models import CaseRow
from safeguard.config import Settings
from safeguard.errors import InputError
from safeguard.evidence import chain, keys
from safeguard.evidence.case_state import STATE_ACTIONS, CaseTrail, differences
from safeguard.evidence.case_state import describe as describe_case
from safeguard.evidence.checkpoints import (
    Checkpoint,
    checkpoint_path,
    fingerprint,
    read_checkpoints,
    read_head,
)
from safeguard.evidence.decision_digest import (
    DIGEST_ACTION,
    PURGE_ACTION,
    DecisionLedger,
    TableCheck,
    check_table,
)
from safeguard.evidence.models import EvidenceRecord

MAX_PER_CHECK = 20


@dataclass(slots=True)
class Finding:
    """One failed check: its name and what was found."""

    check: str
    message: str

    def describe(self) -> str:
        """One line for people."""
        return f"TAMPERED [{self.check}] {self.message}"


@dataclass(slots=True)
class AuditReport:
    """Everything ``audit`` found; ``ok`` when no check failed."""

    chain: chain.VerifyResult
    findings: list[Finding] = field(default_factory=list)
    checkpoints: int = 0
    last_checkpoint: Checkpoint | None = None
    cases_checked: int = 0
    decisions: TableCheck | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the chain and every checkpoint, case and decision range check out."""
        return self.chain.ok and not self.findings

    def failed_checks(self) -> list[str]:
        """The names of the checks that failed, in order of first failure."""
        names = ([] if self.chain.ok else ["chain"]) + [f.check for f in self.findings]
        return list(dict.fromkeys(names))

    def lines(self) -> list[str]:
        """The report for people: findings first, then what was checked."""
        out = [] if self.chain.ok else [self.chain.describe()]
        counts: dict[str, int] = {}
        for finding in self.findings:
            counts[finding.check] = counts.get(finding.check, 0) + 1
            if counts[finding.check] <= MAX_PER_CHECK:
                out.append(finding.describe())
        for check, count in counts.items():
            if count > MAX_PER_CHECK:
                out.append(f"TAMPERED [{check}] ... and {count - MAX_PER_CHECK} more")
        if self.ok:
            out.append(self.chain.describe())
        elif self.chain.ok:
            out.append(f"links intact: {self.chain.records} records (head {self.chain.head_seq})")
        if self.last_checkpoint is not None:
            last = self.last_checkpoint
            out.append(
                f"checked against {self.checkpoints} checkpoints (last: record {last.seq} signed "
                f"{last.fields.get('at')} by key {last.key_id})"
            )
        out.append(f"{self.cases_checked} case rows checked against the chain")
        if self.decisions is not None:
            out.append(
                f"{self.decisions.ranges} message_decisions ranges ({self.decisions.rows} rows) "
                "checked against their digests"
            )
        out.extend(f"note: {note}" for note in self.notes)
        return out


@dataclass(slots=True)
class _Walk:
    """What one pass over the chain collects."""

    checkpoints: list[Checkpoint]
    wanted: dict[int, list[Checkpoint]] = field(default_factory=dict)
    signed_heads: dict[tuple, list[Checkpoint]] = field(default_factory=dict)
    seen_hash: dict[int, str] = field(default_factory=dict)
    seen_fingerprint: dict[int, tuple] = field(default_factory=dict)
    located: dict[int, list[int]] = field(default_factory=dict)
    trails: dict[str, CaseTrail] = field(default_factory=dict)
    ledger: DecisionLedger = field(default_factory=DecisionLedger)
    findings: list[Finding] = field(default_factory=list)
    last_seq: int = 0
    count: int = 0

    def __post_init__(self) -> None:
        for checkpoint in self.checkpoints:
            self.wanted.setdefault(checkpoint.seq, []).append(checkpoint)
            if checkpoint.head_record is not None:
                key = _key(checkpoint.head_record)
                self.signed_heads.setdefault(key, []).append(checkpoint)

    def visit(self, record: EvidenceRecord) -> None:
        self.count += 1
        self.last_seq = record.seq
        try:
            self._replay(record)
        except (ValueError, KeyError, TypeError) as exc:
            self.findings.append(
                Finding(
                    "record_payload", f"record {record.seq} ({record.action}): {type(exc).__name__} {exc}"
                )
            )
        key = _key(fingerprint(record))
        for checkpoint in self.signed_heads.get(key, []):
            self.located.setdefault(id(checkpoint), []).append(record.seq)
        for checkpoint in self.wanted.get(record.seq, []):
            self.seen_hash[record.seq] = record.hash
            self.seen_fingerprint[record.seq] = key
            if record.hash == checkpoint.head_hash:
                self._check_coverage(checkpoint)

    def _replay(self, record: EvidenceRecord) -> None:
        action = record.action
        if action == DIGEST_ACTION and record.payload:
            self.ledger.add_digest(record.seq, json.loads(record.payload))
        elif action == PURGE_ACTION and record.payload:
            self.ledger.add_purge(record.seq, json.loads(record.payload))
        elif action == "purge" and record.payload:
            payload = json.loads(record.payload)
            states = payload.get("states") or {}
            for case_id in payload.get("case_ids", []):
                self._trail(case_id).purged(record.seq, states.get(case_id))
        elif record.case_id is not None and action in STATE_ACTIONS:
            payload = json.loads(record.payload) if record.payload else None
            self._trail(record.case_id).apply(record, payload)

    def _trail(self, case_id: str) -> CaseTrail:
        trail = self.trails.get(case_id)
        if trail is None:
            trail = self.trails[case_id] = CaseTrail(case_id)
        return trail

    def _check_coverage(self, checkpoint: Checkpoint) -> None:
        claimed = checkpoint.coverage.get("message_decisions")
        if not isinstance(claimed, dict):
            return
        digest_seq = self.ledger.last_digest_seq
        if claimed.get("digest_seq") != digest_seq:
            self.findings.append(
                Finding(
                    "coverage",
                    f"checkpoint {checkpoint.where()} says the last decision digest is record "
                    f"{claimed.get('digest_seq')}, the chain up to record {checkpoint.seq} says {digest_seq}",
                )
            )


def _key(head_record: dict) -> tuple:
    return (head_record.get("at"), head_record.get("action"), head_record.get("payload_sha256"))


def verification_inputs(
    settings: Settings, checkpoint: Path | None = None, public_key: Path | None = None
) -> tuple[Path, list[Checkpoint], Ed25519PublicKey | None]:
    """The checkpoint file (``checkpoint``, else the configured one if it exists), its checkpoints
    and the public key to check them with (``public_key``, else the configured one).

    Raises ``InputError`` naming the file (and line) that cannot be used.
    """
    path = checkpoint if checkpoint is not None else checkpoint_path(settings)
    checkpoints = read_checkpoints(path) if checkpoint is not None or path.exists() else []
    key = keys.load_public_key(public_key) if public_key is not None else None
    if checkpoints and key is None:
        key = keys.default_public_key(settings)
        if key is None:
            raise InputError(
                "no public key to check the checkpoints with: pass --public-key FILE", path=str(path)
            )
    return path, checkpoints, key


def audit_configured(session: Session, settings: Settings) -> AuditReport:
    """The audit against the configured checkpoint file and public key (what `safeguard audit
    verify` runs without options), for the API and the console."""
    _, checkpoints, key = verification_inputs(settings)
    return audit(session, checkpoints, key)


def audit(
    session: Session,
    checkpoints: list[Checkpoint] | None = None,
    public_key: Ed25519PublicKey | None = None,
) -> AuditReport:
    """Run every check; ``checkpoints`` must be signed by ``public_key``."""
    trusted, findings = _trusted(checkpoints or [], public_key)
    walk = _Walk(trusted)
    result = chain.verify(session, visit=walk.visit)
    report = AuditReport(result, findings=findings, checkpoints=len(checkpoints or []))
    report.findings.extend(walk.findings)
    head_seq, _ = read_head(session)
    report.findings.extend(_checkpoint_findings(walk, trusted, head_seq))
    if trusted:
        report.last_checkpoint = trusted[-1]
    elif not checkpoints:
        report.notes.append(
            "no checkpoints given: records removed from the end, a rehashed or renumbered chain and "
            "a wiped chain cannot be detected (pass --checkpoint FILE)"
        )
    report.findings.extend(Finding("decisions", problem) for problem in walk.ledger.problems)
    report.cases_checked = _check_cases(session, walk.trails, report.findings)
    report.decisions = check_table(session, walk.ledger)
    report.findings.extend(Finding("decisions", p.message) for p in report.decisions.problems)
    report.notes.extend(report.decisions.notes)
    return report


def _trusted(
    checkpoints: list[Checkpoint], public_key: Ed25519PublicKey | None
) -> tuple[list[Checkpoint], list[Finding]]:
    """The checkpoints whose signature verifies with ``public_key``, and a finding for each other."""
    if not checkpoints:
        return [], []
    if public_key is None:
        raise ValueError("checkpoints need the public key that signed them")
    expected_id = keys.key_id(public_key)
    trusted, findings = [], []
    for checkpoint in checkpoints:
        if checkpoint.key_id != expected_id:
            findings.append(
                Finding(
                    "wrong_key",
                    f"checkpoint {checkpoint.where()} was signed by key {checkpoint.key_id}, "
                    f"not by the public key given ({expected_id})",
                )
            )
        elif not checkpoint.signed_by(public_key):
            findings.append(
                Finding(
                    "bad_signature",
                    f"checkpoint {checkpoint.where()} (record {checkpoint.seq}): the signature does not "
                    "verify: the checkpoint was altered or forged",
                )
            )
        else:
            trusted.append(checkpoint)
    return trusted, findings


def _checkpoint_findings(walk: _Walk, trusted: list[Checkpoint], head_seq: int) -> list[Finding]:
    findings: list[Finding] = []
    matched = 0
    previous: Checkpoint | None = None
    signed_hash: dict[int, Checkpoint] = {}
    for checkpoint in trusted:
        if previous is not None and checkpoint.seq < previous.seq:
            findings.append(
                Finding(
                    "checkpoint_order",
                    f"checkpoint {checkpoint.where()} signs record {checkpoint.seq}, behind "
                    f"{previous.where()} (record {previous.seq}): the chain shrank between them",
                )
            )
        other = signed_hash.get(checkpoint.seq)
        if other is not None and other.head_hash != checkpoint.head_hash:
            findings.append(
                Finding(
                    "checkpoint_order",
                    f"checkpoints {other.where()} and {checkpoint.where()} sign different hashes for "
                    f"record {checkpoint.seq}: the chain was rewritten between them",
                )
            )
        signed_hash.setdefault(checkpoint.seq, checkpoint)
        previous = checkpoint
        finding = _against_chain(walk, checkpoint, matched, head_seq)
        if finding is None:
            matched = max(matched, checkpoint.seq)
        else:
            findings.append(finding)
    return findings


def _against_chain(walk: _Walk, checkpoint: Checkpoint, matched: int, head_seq: int) -> Finding | None:
    """Whether the chain still holds the head ``checkpoint`` signed, and if not, how it changed."""
    seq = checkpoint.seq
    if seq == 0:
        return None
    signed = f"checkpoint {checkpoint.where()} signed record {seq} ({checkpoint.fields.get('at')})"
    span = f"records {matched + 1}..{seq}" if matched + 1 < seq else f"record {seq}"
    moved = [s for s in walk.located.get(id(checkpoint), []) if s != seq]
    if walk.count == 0:
        return Finding(
            "wiped", f"{signed} but the chain is empty (head {head_seq}): every record was deleted"
        )
    if moved and walk.seen_hash.get(seq) != checkpoint.head_hash:
        change = f"{seq - moved[0]} removed" if moved[0] < seq else f"{moved[0] - seq} inserted"
        return Finding(
            "renumbered",
            f"{signed}; that record is now record {moved[0]}: record(s) {change} among {span}, "
            "the later ones renumbered and every hash after them recomputed",
        )
    if seq not in walk.seen_hash:
        if seq > walk.last_seq:
            return Finding(
                "truncated",
                f"{signed} but the chain ends at record {walk.last_seq} (head {head_seq}): records "
                f"{walk.last_seq + 1} to {seq} at least were removed and the head moved back",
            )
        return Finding("record_deleted", f"{signed} but there is no record {seq} any more")
    if walk.seen_hash[seq] == checkpoint.head_hash:
        if head_seq < seq:
            return Finding(
                "head_moved_back",
                f"{signed} and the chain still holds it, but the head row says {head_seq}",
            )
        return None
    same_record = checkpoint.head_record is not None and walk.seen_fingerprint.get(seq) == _key(
        checkpoint.head_record
    )
    if same_record:
        earlier = f"records {matched + 1}..{seq - 1}" if matched + 1 < seq - 1 else f"record {seq - 1}"
        detail = f"record {seq} itself is unchanged, so one of {earlier} was changed"
    else:
        detail = f"record {seq} is not the record that was signed ({span} rewritten)"
    return Finding(
        "rewritten",
        f"{signed} with hash {checkpoint.head_hash[:16]}..., the chain now has "
        f"{walk.seen_hash[seq][:16]}...: {detail}, and every later hash recomputed",
    )


def _check_cases(session: Session, trails: dict[str, CaseTrail], findings: list[Finding]) -> int:
    """Compare every case row with its trail; rows without a trail and trails without a row too."""
    opened = {case_id: trail for case_id, trail in trails.items() if trail.opened_seq is not None}
    seen: set[str] = set()
    count = 0
    for case in session.execute(select(CaseRow).execution_options(yield_per=500)).scalars():
        count += 1
        seen.add(case.id)
        trail = opened.get(case.id)
        if trail is None:
            findings.append(
                Finding("case_row", f"case {case.id} is in the cases table but the chain never opened it")
            )
            continue
        diffs = differences(trail, case)
        if diffs:
            findings.append(Finding("case_row", describe_case(case.id, diffs)))
    for case_id, trail in opened.items():
        if case_id not in seen:
            findings.append(
                Finding(
                    "case_row",
                    f"case {case_id} was opened in the chain (record {trail.opened_seq}) but its row is gone",
                )
            )
    return count
