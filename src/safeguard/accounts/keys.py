"""API keys: random secrets shown once, stored as SHA-256 hashes, with scopes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from safeguard.accounts.models import ApiKey
from safeguard.core.clock import utcnow
from safeguard.errors import InputError

SCOPES = ("ingest", "review", "admin")
PREFIX = "sg_"


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """An API key's public details (never the secret)."""

    id: str
    scopes: tuple[str, ...]
    name: str | None
    created_at: datetime
    revoked_at: datetime | None

    def allows(self, scope: str) -> bool:
        """``admin`` keys may do everything; others only their scopes."""
        return scope in self.scopes or "admin" in self.scopes


def hash_key(secret: str) -> str:
    """The stored form of a key: hex SHA-256 (keys are 256-bit random, so no salt is needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _info(row: ApiKey) -> KeyInfo:
    return KeyInfo(row.id, tuple(row.scopes.split(",")), row.name, row.created_at, row.revoked_at)


def create_key(session: Session, scopes: list[str], name: str | None = None) -> tuple[KeyInfo, str]:
    """Create a key with ``scopes``; returns its info and the secret (shown once)."""
    if not scopes:
        raise InputError("at least one scope is required", field="scope")
    for scope in scopes:
        if scope not in SCOPES:
            raise InputError(f"unknown scope {scope!r}; use one of {', '.join(SCOPES)}", field="scope")
    key_id = secrets.token_hex(6)
    secret = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    row = ApiKey(id=key_id, key_hash=hash_key(secret), scopes=",".join(dict.fromkeys(scopes)), name=name)
    session.add(row)
    session.flush()
    return _info(row), secret


def verify_key(session: Session, secret: str) -> KeyInfo | None:
    """The key ``secret`` belongs to, or None when unknown or revoked."""
    row = session.execute(select(ApiKey).where(ApiKey.key_hash == hash_key(secret))).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    return _info(row)


def list_keys(session: Session) -> list[KeyInfo]:
    """Every key, oldest first."""
    rows = session.execute(select(ApiKey).order_by(ApiKey.created_at)).scalars()
    return [_info(row) for row in rows]


def revoke_key(session: Session, key_id: str) -> KeyInfo:
    """Revoke a key by id; raises InputError when there is no such key."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise InputError(f"no API key with id {key_id!r}", field="key_id")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return _info(row)
