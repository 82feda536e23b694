"""The signed client bundle: round trip, tampering, staleness and deltas."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from client_helpers import random_hashes

from safeguard.client import (
    BundleError,
    BundlePolicy,
    StaleBundleError,
    TamperedBundleError,
    apply_delta,
    encode_bundle,
    key_id,
    verify_bundle,
)
from safeguard.media.pdq_index import parse_pdq_hashes

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def make(private_key, hashes, ids, *, version=None, total=None, since=None, days=7, bank="demo"):  # type: ignore[no-untyped-def]
    return encode_bundle(
        private_key=private_key,
        bank=bank,
        hashes=parse_pdq_hashes(hashes) if hashes else np.empty((0, 4), np.uint64),
        ids=np.asarray(ids, dtype=np.int64),
        version=version if version is not None else max(ids, default=0),
        total=total if total is not None else len(ids),
        since=since,
        valid_until=NOW + timedelta(days=days),
        created_at=NOW,
        policy=BundlePolicy(pdq_match_distance=30, grooming_warn=0.4),
    )


def test_round_trip_keeps_hashes_ids_and_policy(private_key) -> None:  # type: ignore[no-untyped-def]
    hashes = random_hashes(50)
    ids = [3, 4, 9, 1000, *range(2000, 2046)]  # gaps survive the delta-encoded ids
    data = make(private_key, hashes, ids)
    bundle = verify_bundle(data, private_key.public_key(), now=NOW)
    assert bundle.header.bank == "demo" and bundle.header.kind == "full" and bundle.version == 2045
    assert bundle.header.key_id == key_id(private_key.public_key())
    assert bundle.header.policy.pdq_match_distance == 30 and bundle.header.policy.grooming_warn == 0.4
    assert bundle.ids.tolist() == ids
    assert [row.tobytes().hex() for row in bundle.hashes] == hashes
    assert data.startswith(b"SGBNDL01") and len(data) < 50 * 32 + 1000


@pytest.mark.parametrize("where", ["header", "hashes", "ids", "signature"])
def test_any_altered_byte_is_refused(private_key, where: str) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(make(private_key, random_hashes(20), list(range(1, 21))))
    header_len = int.from_bytes(data[8:12], "big")
    position = {
        "header": 12 + header_len // 2,
        "hashes": 12 + header_len + 5,
        "ids": len(data) - 64 - 3,
        "signature": len(data) - 10,
    }[where]
    data[position] ^= 0x01
    with pytest.raises(TamperedBundleError, match="signature does not verify"):
        verify_bundle(bytes(data), private_key.public_key(), now=NOW)


def test_truncated_foreign_key_and_garbage_are_refused(private_key) -> None:  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    data = make(private_key, random_hashes(5), [1, 2, 3, 4, 5])
    with pytest.raises(TamperedBundleError, match="signature does not verify"):
        verify_bundle(data[:-100] + data[-64:], private_key.public_key(), now=NOW)
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(TamperedBundleError, match="another key"):
        verify_bundle(data, other, now=NOW)
    with pytest.raises(TamperedBundleError, match="bad magic"):
        verify_bundle(b"PK\x03\x04" + bytes(100), private_key.public_key(), now=NOW)


def test_expired_and_older_bundles_are_stale(private_key) -> None:  # type: ignore[no-untyped-def]
    data = make(private_key, random_hashes(3), [5, 6, 7], days=7)
    with pytest.raises(StaleBundleError, match="expired"):
        verify_bundle(data, private_key.public_key(), now=NOW + timedelta(days=8))
    with pytest.raises(StaleBundleError, match="older than the version this device has"):
        verify_bundle(data, private_key.public_key(), now=NOW, current_version=8)
    same = verify_bundle(data, private_key.public_key(), now=NOW, current_version=7)
    assert same.version == 7


def test_delta_brings_a_snapshot_up_to_date(private_key) -> None:  # type: ignore[no-untyped-def]
    key = private_key.public_key()
    first, more = random_hashes(10, seed=1), random_hashes(4, seed=2)
    base = verify_bundle(make(private_key, first, list(range(1, 11))), key, now=NOW)
    delta_bytes = make(private_key, more, [11, 12, 13, 14], version=14, total=14, since=10)
    delta = verify_bundle(delta_bytes, key, now=NOW)
    assert delta.header.kind == "delta" and delta.header.since == 10
    merged = apply_delta(base, delta)
    assert merged.version == 14 and merged.ids.tolist() == list(range(1, 15))
    assert [r.tobytes().hex() for r in merged.hashes] == first + more
    assert len(delta_bytes) < len(make(private_key, first + more, list(range(1, 15))))

    with pytest.raises(StaleBundleError, match="since version 10 but this device has version 14"):
        apply_delta(merged, delta)
    wrong_base = verify_bundle(make(private_key, more[:3], [12, 13, 14], since=11, total=14), key, now=NOW)
    with pytest.raises(StaleBundleError, match="since version 11"):
        apply_delta(base, wrong_base)
    removed = verify_bundle(make(private_key, more, [11, 12, 13, 14], since=10, total=12), key, now=NOW)
    with pytest.raises(StaleBundleError, match="entries were removed"):
        apply_delta(base, removed)
    other_bank = verify_bundle(make(private_key, more, [11, 12, 13, 14], since=10, bank="x"), key, now=NOW)
    with pytest.raises(BundleError, match="for bank 'x'"):
        apply_delta(base, other_bank)
    with pytest.raises(BundleError, match="not a delta"):
        apply_delta(base, base)


def test_empty_bank_bundle(private_key) -> None:  # type: ignore[no-untyped-def]
    bundle = verify_bundle(make(private_key, [], [], version=0), private_key.public_key(), now=NOW)
    assert len(bundle) == 0 and bundle.hashes.shape == (0, 4)


def test_client_package_stays_dependency_light() -> None:
    code = (
        "import sys, json, safeguard.client; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    loaded = set(
        json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout)
    )
    heavy = {
        "sqlalchemy",
        "pydantic",
        "torch",
        "fastapi",
        "scipy",
        "sklearn",
        "nudenet",
        "onnxruntime",
        "cv2",
    }
    assert not loaded & heavy, loaded & heavy
