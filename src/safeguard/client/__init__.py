"""On-device matching for end-to-end encrypted messaging (capability 3 on the client).

A device downloads a signed snapshot of a bank's PDQ hashes and the policy
thresholds (``safeguard export-client-bundle``), verifies it, hashes images
locally and matches them; only a match report (hashes, distances, entry ids,
never the image) goes to the service's hash-only ``POST /v1/media``.

Dependency-light: numpy, pdqhash, Pillow and cryptography (the nudity model is
optional). The exporter, which needs the database, is
:mod:`safeguard.client.export` and is not imported here.

- ``bundle``: the signed format, :func:`verify_bundle`, :func:`apply_delta`.
- ``keys``: Ed25519 key files.
- ``matcher``: :class:`ClientMatcher` and :class:`MatchReport`.
"""

from __future__ import annotations

from safeguard.client.bundle import (
    Bundle,
    BundleError,
    BundleHeader,
    BundlePolicy,
    StaleBundleError,
    TamperedBundleError,
    apply_delta,
    encode_bundle,
    verify_bundle,
)
from safeguard.client.keys import create_key_pair, key_id, load_private_key, load_public_key
from safeguard.client.matcher import ClientMatch, ClientMatcher, MatchReport

__all__ = [
    "Bundle",
    "BundleError",
    "BundleHeader",
    "BundlePolicy",
    "ClientMatch",
    "ClientMatcher",
    "MatchReport",
    "StaleBundleError",
    "TamperedBundleError",
    "apply_delta",
    "create_key_pair",
    "encode_bundle",
    "key_id",
    "load_private_key",
    "load_public_key",
    "verify_bundle",
]
