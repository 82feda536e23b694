"""The client bundle: a signed snapshot (or delta) of one bank's PDQ hashes and
the policy thresholds a device needs to match images itself.

Layout (all of it, signature excepted, is signed)::

    b"SGBNDL01"                  8 bytes, magic and layout version
    header length                4 bytes, big-endian unsigned
    header                       UTF-8 JSON (see BundleHeader)
    hashes                       count * 32 bytes, each PDQ hash as its 32 bytes
                                 (the same bytes as its 64-character hex form)
    ids                          zlib-compressed little-endian int64 differences
                                 of the bank entry ids (ascending), ids_bytes long
    signature                    64 bytes, Ed25519 over every byte before it

The signature is checked over the exact bytes before anything else is parsed.
A bundle's ``version`` is the highest entry id in the bank when it was
exported (entry ids only grow), so a delta "since V" holds the PDQ entries
with ids above V, and ``total`` says how many the bank held: a device whose
count differs after applying a delta (entries were removed from the bank) is
told to fetch a full bundle.

Refused with :class:`TamperedBundleError`: a bad magic, truncation, a
signature that does not verify (altered, or signed by another key). Refused
with :class:`StaleBundleError`: a version older than the device already has,
a ``valid_until`` in the past, a delta for another base version.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from safeguard.client.keys import key_id, load_public_key
from safeguard.errors import SafeguardError

__all__ = [
    "FORMAT_NAME",
    "MAGIC",
    "Bundle",
    "BundleError",
    "BundleHeader",
    "BundlePolicy",
    "StaleBundleError",
    "TamperedBundleError",
    "apply_delta",
    "encode_bundle",
    "verify_bundle",
]

MAGIC = b"SGBNDL01"
FORMAT_NAME = "safeguard-client-bundle"
FORMAT_VERSION = 1
SIGNATURE_BYTES = 64
_MAX_HEADER = 1 << 20


class BundleError(SafeguardError):
    """A client bundle that cannot be used."""


class TamperedBundleError(BundleError):
    """The bundle is not what the service signed (altered, truncated, other key)."""


class StaleBundleError(BundleError):
    """The bundle is genuine but out of date for this device."""


@dataclass(frozen=True)
class BundlePolicy:
    """Thresholds a device applies, as the service had them when it exported."""

    pdq_match_distance: int = 31
    pdq_quality_min: int = 50
    nudity_threshold: float = 0.5
    grooming_warn: float = 0.35
    grooming_hold: float = 0.6
    grooming_escalate: float = 0.85

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BundlePolicy:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


@dataclass(frozen=True)
class BundleHeader:
    """What a bundle holds and for how long it may be used."""

    bank: str
    kind: str  # "full" or "delta"
    version: int
    count: int
    total: int
    created_at: str
    valid_until: str
    key_id: str
    ids_bytes: int
    since: int | None = None
    policy: BundlePolicy = field(default_factory=BundlePolicy)
    format: str = FORMAT_NAME
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BundleHeader:
        values = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        values["policy"] = BundlePolicy.from_dict(data.get("policy") or {})
        return cls(**values)


@dataclass(frozen=True)
class Bundle:
    """A verified bundle: its header, PDQ hashes as ``(n, 4)`` uint64, and entry ids."""

    header: BundleHeader
    hashes: np.ndarray
    ids: np.ndarray

    @property
    def version(self) -> int:
        return self.header.version

    def __len__(self) -> int:
        return len(self.ids)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def encode_bundle(
    *,
    private_key: Ed25519PrivateKey,
    bank: str,
    hashes: np.ndarray,
    ids: np.ndarray,
    version: int,
    total: int,
    valid_until: datetime,
    policy: BundlePolicy | None = None,
    since: int | None = None,
    created_at: datetime | None = None,
) -> bytes:
    """Serialise and sign a bundle. ``hashes`` is ``(n, 4)`` uint64 (see ``parse_pdq_hashes``)."""
    hashes = np.ascontiguousarray(hashes, dtype=np.uint64).reshape(-1, 4)
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) != len(hashes):
        raise ValueError(f"{len(hashes)} hashes but {len(ids)} ids")
    order = np.argsort(ids, kind="stable")
    hashes, ids = hashes[order], ids[order]
    ids_blob = zlib.compress(np.diff(ids, prepend=np.int64(0)).astype("<i8").tobytes(), 6)
    header = BundleHeader(
        bank=bank,
        kind="full" if since is None else "delta",
        version=int(version),
        since=None if since is None else int(since),
        count=len(ids),
        total=int(total),
        created_at=_iso(created_at or datetime.now(UTC)),
        valid_until=_iso(valid_until),
        key_id=key_id(private_key.public_key()),
        ids_bytes=len(ids_blob),
        policy=policy or BundlePolicy(),
    )
    header_json = json.dumps(header.to_dict(), sort_keys=True, separators=(",", ":")).encode()
    body = b"".join(
        [MAGIC, struct.pack(">I", len(header_json)), header_json, hashes.astype("<u8").tobytes(), ids_blob]
    )
    return body + private_key.sign(body)


def _parse_time(value: str, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise TamperedBundleError(f"bundle header: {what} is not a date ({value!r})") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def verify_bundle(
    data: bytes,
    public_key: Ed25519PublicKey | bytes | str,
    *,
    current_version: int | None = None,
    now: datetime | None = None,
) -> Bundle:
    """Check the signature over the exact bytes, then parse and check freshness.

    ``current_version`` is the version the device already has: an older full
    bundle is refused as stale. Raises :class:`TamperedBundleError` or
    :class:`StaleBundleError` with a message saying what is wrong.
    """
    key = load_public_key(public_key)
    if len(data) < len(MAGIC) + 4 + SIGNATURE_BYTES or not data.startswith(MAGIC):
        raise TamperedBundleError("not a Safeguard client bundle (bad magic or too short)")
    body, signature = data[:-SIGNATURE_BYTES], data[-SIGNATURE_BYTES:]
    try:
        key.verify(signature, body)
    except InvalidSignature:
        raise TamperedBundleError(
            "signature does not verify: the bundle was altered, truncated, or signed by another key "
            f"(this device trusts key {key_id(key)})"
        ) from None
    (header_len,) = struct.unpack(">I", body[8:12])
    if header_len > _MAX_HEADER or 12 + header_len > len(body):
        raise TamperedBundleError("bundle header length is out of range")
    try:
        raw_header = json.loads(body[12 : 12 + header_len])
        header = BundleHeader.from_dict(raw_header)
    except (ValueError, TypeError) as exc:
        raise TamperedBundleError(f"bundle header is unreadable ({exc})") from None
    if header.format != FORMAT_NAME or header.format_version != FORMAT_VERSION:
        raise BundleError(f"unsupported bundle format {header.format!r} v{header.format_version}")
    if header.key_id != key_id(key):
        raise TamperedBundleError(f"bundle names key {header.key_id}, this device trusts {key_id(key)}")
    start = 12 + header_len
    hash_bytes = header.count * 32
    if len(body) != start + hash_bytes + header.ids_bytes:
        raise TamperedBundleError("bundle length does not match its header")
    hashes = np.frombuffer(body, dtype="<u8", count=header.count * 4, offset=start).reshape(-1, 4)
    try:
        raw_ids = zlib.decompress(body[start + hash_bytes :], bufsize=max(1, header.count * 8))
    except zlib.error as exc:
        raise TamperedBundleError(f"bundle ids are unreadable ({exc})") from None
    if len(raw_ids) != header.count * 8:
        raise TamperedBundleError("bundle ids do not match its count")
    ids = np.cumsum(np.frombuffer(raw_ids, dtype="<i8")).astype(np.int64)
    moment = now or datetime.now(UTC)
    expires = _parse_time(header.valid_until, "valid_until")
    if expires < moment:
        raise StaleBundleError(
            f"bundle for bank {header.bank!r} (version {header.version}) expired at {header.valid_until}: "
            "download a new one"
        )
    if current_version is not None and header.kind == "full" and header.version < current_version:
        raise StaleBundleError(
            f"bundle version {header.version} is older than the version this device has ({current_version})"
        )
    return Bundle(header, hashes.astype(np.uint64), ids)


def apply_delta(base: Bundle, delta: Bundle) -> Bundle:
    """The snapshot ``base`` brought up to ``delta`` (entries added since ``base.version``).

    Refuses a delta for another bank or another base version, an older one, and
    one after which the count differs from the bank's (entries were removed:
    fetch a full bundle).
    """
    head = delta.header
    if head.kind != "delta":
        raise BundleError("not a delta bundle (use it as a full snapshot instead)")
    if head.bank != base.header.bank:
        raise BundleError(f"delta is for bank {head.bank!r}, the snapshot is for {base.header.bank!r}")
    if head.version < base.version:
        raise StaleBundleError(
            f"delta version {head.version} is older than the snapshot this device has ({base.version})"
        )
    if head.since != base.version:
        raise StaleBundleError(
            f"delta is since version {head.since} but this device has version {base.version}: "
            f"download the delta since {base.version}, or a full bundle"
        )
    new = delta.ids > base.version
    hashes = np.concatenate([base.hashes, delta.hashes[new]])
    ids = np.concatenate([base.ids, delta.ids[new]])
    if len(ids) != head.total:
        raise StaleBundleError(
            f"after the delta this device would hold {len(ids)} hashes but bank {head.bank!r} holds "
            f"{head.total} (entries were removed): download a full bundle"
        )
    merged = replace(
        head,
        kind="full",
        since=None,
        count=len(ids),
        ids_bytes=0,  # a merged snapshot is held in memory, never re-encoded unsigned
    )
    return Bundle(merged, hashes, ids)
