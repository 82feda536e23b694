"""Service side: export a bank's PDQ hashes as a signed client bundle (full or delta).

Imports the database layer, so :mod:`safeguard.client` does not import it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safeguard.client.bundle import BundlePolicy, encode_bundle
from safeguard.errors import InputError
from safeguard.media.banks import get_bank
from safeguard.media.models import HashBankEntry
from safeguard.media.pdq_index import PDQ_MATCH_DISTANCE, parse_pdq_hashes

__all__ = ["DEFAULT_VALID_DAYS", "export_bundle", "policy_from_settings"]

DEFAULT_VALID_DAYS = 7
_PAGE = 100_000


def policy_from_settings() -> BundlePolicy:
    """Thresholds for devices: PDQ match rules and the service's configured cut-offs."""
    from safeguard.config import get_settings
    from safeguard.media.hashing import PDQ_QUALITY_THRESHOLD

    settings = get_settings()
    thresholds = settings.thresholds
    return BundlePolicy(
        pdq_match_distance=PDQ_MATCH_DISTANCE,
        pdq_quality_min=PDQ_QUALITY_THRESHOLD,
        nudity_threshold=settings.policy.nudity_threshold,
        grooming_warn=thresholds.warn,
        grooming_hold=thresholds.hold,
        grooming_escalate=thresholds.escalate,
    )


def export_bundle(
    session: Session,
    bank_name: str,
    private_key: Ed25519PrivateKey,
    *,
    since: int | None = None,
    valid_days: float = DEFAULT_VALID_DAYS,
    policy: BundlePolicy | None = None,
    now: datetime | None = None,
) -> tuple[bytes, dict[str, object]]:
    """Signed bundle bytes for ``bank_name`` and a summary (version, counts)."""
    if valid_days <= 0:
        raise InputError(f"valid days must be positive, got {valid_days}")
    bank = get_bank(session, bank_name)
    version = int(
        session.scalar(select(func.max(HashBankEntry.id)).where(HashBankEntry.bank_id == bank.id)) or 0
    )
    if since is not None and not 0 <= since <= version:
        raise InputError(f"--since {since} is outside this bank's versions (0-{version})")
    pdq = (HashBankEntry.bank_id == bank.id) & (HashBankEntry.signal_type == "pdq")
    total = int(session.scalar(select(func.count()).select_from(HashBankEntry).where(pdq)) or 0)
    query = select(HashBankEntry.id, HashBankEntry.value).where(pdq)
    if since is not None:
        query = query.where(HashBankEntry.id > since)
    values: list[str] = []
    ids: list[int] = []
    for entry_id, value in session.execute(
        query.order_by(HashBankEntry.id).execution_options(yield_per=_PAGE)
    ):
        ids.append(int(entry_id))
        values.append(str(value))
    words = parse_pdq_hashes(values) if values else np.empty((0, 4), np.uint64)
    moment = now or datetime.now(UTC)
    data = encode_bundle(
        private_key=private_key,
        bank=bank.name,
        hashes=words,
        ids=np.asarray(ids, dtype=np.int64),
        version=version,
        total=total,
        since=since,
        valid_until=moment + timedelta(days=valid_days),
        created_at=moment,
        policy=policy or policy_from_settings(),
    )
    summary: dict[str, object] = {
        "bank": bank.name,
        "kind": "full" if since is None else "delta",
        "version": version,
        "since": since,
        "hashes": len(ids),
        "total": total,
        "bytes": len(data),
        "valid_until": (moment + timedelta(days=valid_days)).isoformat(timespec="seconds"),
    }
    return data, summary
