"""MinHash fingerprints of normalised message text, banded for LSH look-up."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash

from safeguard.text.normalize import normalize

NUM_PERM = 128
BANDS = 16
ROWS = NUM_PERM // BANDS
SHINGLE_CHARS = 5
SEED = 19
MIN_WORDS = 4

_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32")


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """The band keys (signed 64-bit ints) and the signature (128 x uint32 bytes)."""

    band_keys: tuple[int, ...]
    signature: bytes


def shingles(text: str) -> list[bytes]:
    """Character 5-grams of the normalised words; words with digits (amounts) are left out."""
    words = ["".join(ch for ch in w if ch.isalnum()) for w in normalize(text).split()]
    words = [w for w in words if w and not any(ch.isdigit() for ch in w)]
    if len(words) < MIN_WORDS:
        return []
    joined = " ".join(words)
    k = SHINGLE_CHARS
    return list({joined[i : i + k].encode() for i in range(len(joined) - k + 1)})


def fingerprint(text: str) -> Fingerprint | None:
    """The fingerprint of ``text``; None when it is too short to be a script."""
    grams = shingles(text)
    if not grams:
        return None
    mh = MinHash(num_perm=NUM_PERM, seed=SEED, permutations=_TEMPLATE.permutations, scheme="affine32")
    mh.update_batch(grams)
    values = mh.hashvalues.astype(np.uint32)
    return Fingerprint(band_keys(values), values.tobytes())


def band_keys(values: np.ndarray) -> tuple[int, ...]:
    """One key per band: a 64-bit hash of the band index and its rows."""
    keys = []
    for band in range(BANDS):
        chunk = values[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(bytes([band]) + chunk, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big", signed=True))
    return tuple(keys)


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two stored signatures."""
    va = np.frombuffer(a, dtype=np.uint32)
    vb = np.frombuffer(b, dtype=np.uint32)
    return float(np.mean(va == vb))
