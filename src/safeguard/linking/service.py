"""Record fingerprints, find linked senders and the reach of a script (no text stored)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from safeguard.core.clock import utcnow
from safeguard.linking.fingerprint import Fingerprint, fingerprint, similarity
from safeguard.linking.models import ScriptBandRow, ScriptFingerprintRow

MATCH_JACCARD = 0.6
LINKED_CATEGORIES = frozenset({"sextortion", "coercion", "grooming"})


@dataclass(frozen=True, slots=True)
class LinkResult:
    """Distinct recipients of the script in the window and the other senders of it."""

    children: int = 0
    linked_accounts: list[str] = field(default_factory=list)


def should_fingerprint(categories: Iterable[str]) -> bool:
    """Only messages with a sextortion/coercion/grooming signal are fingerprinted."""
    return bool(LINKED_CATEGORIES.intersection(categories))


def _matches(session: Session, fp: Fingerprint, since: datetime | None) -> list[ScriptFingerprintRow]:
    """Stored fingerprints sharing a band with ``fp`` and estimated Jaccard >= 0.6."""
    ids = select(ScriptBandRow.fingerprint_id).where(ScriptBandRow.band_key.in_(fp.band_keys))
    stmt = select(ScriptFingerprintRow).where(ScriptFingerprintRow.id.in_(ids))
    if since is not None:
        stmt = stmt.where(ScriptFingerprintRow.at >= since)
    rows = session.scalars(stmt).all()
    return [r for r in rows if similarity(r.signature, fp.signature) >= MATCH_JACCARD]


def record_message(
    session: Session,
    *,
    sender_id: str,
    recipient_ids: Iterable[str],
    conversation_id: str,
    text: str,
    at: datetime | None = None,
    window_hours: float = 24.0,
) -> LinkResult:
    """Store the fingerprint of one message and return the script's reach in the window."""
    at = at or utcnow()
    fp = fingerprint(text)
    recipients = [r for r in dict.fromkeys(recipient_ids) if r != sender_id]
    if fp is None or not recipients:
        return LinkResult()
    since = at - timedelta(hours=window_hours)
    matches = _matches(session, fp, since)
    for recipient in recipients:
        row = ScriptFingerprintRow(
            sender_id=sender_id,
            recipient_id=recipient,
            conversation_id=conversation_id,
            at=at,
            signature=fp.signature,
        )
        session.add(row)
        session.flush()
        session.add_all(ScriptBandRow(fingerprint_id=row.id, band_key=k) for k in set(fp.band_keys))
    session.flush()
    return _reach(sender_id, recipients, matches)


def _reach(sender_id: str, recipients: list[str], matches: list[ScriptFingerprintRow]) -> LinkResult:
    children = set(recipients) | {m.recipient_id for m in matches}
    children.discard(sender_id)
    linked = sorted({m.sender_id for m in matches} - {sender_id})
    return LinkResult(len(children), linked)


def script_reach(
    session: Session, account_id: str, *, now: datetime | None = None, window_hours: float = 24.0
) -> LinkResult:
    """The widest reach in the window of any script this account sent (for account risk)."""
    since = (now or utcnow()) - timedelta(hours=window_hours)
    own = session.scalars(
        select(ScriptFingerprintRow).where(
            ScriptFingerprintRow.sender_id == account_id, ScriptFingerprintRow.at >= since
        )
    ).all()
    best = LinkResult()
    seen: set[bytes] = set()
    for row in own:
        if row.signature in seen:
            continue
        seen.add(row.signature)
        fp = Fingerprint(_band_keys_of(session, row.id), row.signature)
        result = _reach(account_id, [row.recipient_id], _matches(session, fp, since))
        if result.children > best.children:
            best = result
    return best


def _band_keys_of(session: Session, fingerprint_id: int) -> tuple[int, ...]:
    return tuple(
        session.scalars(
            select(ScriptBandRow.band_key).where(ScriptBandRow.fingerprint_id == fingerprint_id)
        ).all()
    )


MAX_LINK_LOOKUPS = 100  # an account's most recent distinct scripts looked up for the reviewer


def linked_accounts(session: Session, account_id: str, *, limit: int = MAX_LINK_LOOKUPS) -> list[str]:
    """Other senders whose stored fingerprints match one of this account's recent scripts
    (its ``limit`` most recent fingerprints, so a prolific account costs bounded queries)."""
    own = session.scalars(
        select(ScriptFingerprintRow)
        .where(ScriptFingerprintRow.sender_id == account_id)
        .order_by(ScriptFingerprintRow.at.desc())
        .limit(limit)
    ).all()
    linked: set[str] = set()
    seen: set[bytes] = set()
    for row in own:
        if row.signature in seen:
            continue
        seen.add(row.signature)
        fp = Fingerprint(_band_keys_of(session, row.id), row.signature)
        linked.update(m.sender_id for m in _matches(session, fp, None))
    linked.discard(account_id)
    return sorted(linked)


def purge_older_than(session: Session, cutoff: datetime) -> int:
    """Delete fingerprints (and their band keys) recorded before ``cutoff``."""
    old = select(ScriptFingerprintRow.id).where(ScriptFingerprintRow.at < cutoff)
    session.execute(delete(ScriptBandRow).where(ScriptBandRow.fingerprint_id.in_(old)))
    result = session.execute(delete(ScriptFingerprintRow).where(ScriptFingerprintRow.at < cutoff))
    return int(result.rowcount or 0)
