"""On-device matching: hash an image in memory, match it against a verified
bundle, and produce a report with hashes, distances and entry ids, never the image.

Two ways to search, same results: ``"index"`` (the default) builds the exact
multi-index :class:`~safeguard.media.pdq_index.PdqIndex` (fastest per query,
but its tables cost about 0.5 GB at 1,000,000 hashes); ``"scan"`` compares
against every hash with a vectorised popcount (only the 32 bytes per hash the
bundle already holds; slower per image, suits phones with large banks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from safeguard.client.bundle import Bundle, apply_delta
from safeguard.errors import InputError
from safeguard.media.hashing import hash_image_bytes
from safeguard.media.pdq_index import PdqIndex, parse_pdq_hashes

__all__ = ["ClientMatch", "ClientMatcher", "MatchReport"]

_SCAN_ROWS = 1 << 16


@dataclass(frozen=True)
class ClientMatch:
    """One bundle entry within the match distance."""

    entry_id: int
    distance: int


@dataclass(frozen=True)
class MatchReport:
    """What the device may send: the image's hashes and any matches, no pixels."""

    bank: str
    bundle_version: int
    pdq: str
    pdq_quality: int
    too_weak: bool
    match_distance: int
    matches: tuple[ClientMatch, ...] = ()
    md5: str | None = None
    sha256: str | None = None
    nudity_score: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def matched(self) -> bool:
        return bool(self.matches)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        out: dict[str, Any] = {
            "bank": self.bank,
            "bundle_version": self.bundle_version,
            "pdq": self.pdq,
            "pdq_quality": self.pdq_quality,
            "too_weak": self.too_weak,
            "match_distance": self.match_distance,
            "matched": self.matched,
            "matches": [{"entry_id": m.entry_id, "distance": m.distance} for m in self.matches],
        }
        if self.nudity_score is not None:
            out["nudity_score"] = round(self.nudity_score, 4)
        return out

    def to_submission(
        self,
        sender_id: str,
        recipient_ids: Sequence[str] = (),
        message_id: str | None = None,
        *,
        include_exact: bool = False,
        conversation_id: str | None = None,
    ) -> dict[str, Any]:
        """The body for the service's hash-only ``POST /v1/media`` (``MediaHashesIn``).

        Only the PDQ hash by default; ``include_exact`` adds MD5 and SHA-256. A
        too-weak PDQ hash is not sent (the service would act on it as given).
        The device's nudity score, when the matcher has a scorer, is sent as
        ``nudity_score`` (the service decides blur/warn for child accounts with it);
        ``conversation_id`` lets the service add the image to that conversation's risk.
        """
        body: dict[str, Any] = {"sender_id": sender_id, "recipient_ids": list(recipient_ids)}
        if message_id is not None:
            body["message_id"] = message_id
        if conversation_id is not None:
            body["conversation_id"] = conversation_id
        if self.nudity_score is not None:
            body["nudity_score"] = round(min(1.0, max(0.0, float(self.nudity_score))), 4)
        if not self.too_weak:
            body["pdq"] = self.pdq
        if include_exact and self.md5 and self.sha256:
            body["md5"], body["sha256"] = self.md5, self.sha256
        if not any(k in body for k in ("pdq", "md5", "sha256")):
            raise InputError("the image's PDQ hash is too weak to submit; pass include_exact=True")
        return body


class ClientMatcher:
    """Matches images against one bank's bundle; ``update`` applies deltas in place."""

    def __init__(
        self,
        bundle: Bundle,
        *,
        mode: str = "index",
        nudity_scorer: Callable[[np.ndarray], float] | None = None,
    ) -> None:
        if mode not in ("index", "scan"):
            raise InputError(f"mode must be 'index' or 'scan', got {mode!r}")
        self.bundle = bundle
        self.mode = mode
        self.nudity_scorer = nudity_scorer
        self._index = PdqIndex(bundle.hashes, bundle.ids) if mode == "index" else None

    @property
    def policy(self):  # type: ignore[no-untyped-def]
        """The bundle's thresholds (:class:`BundlePolicy`)."""
        return self.bundle.header.policy

    @property
    def nbytes(self) -> int:
        """Bytes held for matching (hashes and ids, plus the index tables in index mode)."""
        held = self.bundle.hashes.nbytes + self.bundle.ids.nbytes
        return held + (self._index.nbytes if self._index is not None else 0)

    def update(self, delta: Bundle) -> None:
        """Apply a verified delta (see :func:`apply_delta`); the index grows, no rebuild."""
        merged = apply_delta(self.bundle, delta)
        added = len(merged) - len(self.bundle)
        if self._index is not None and added:
            self._index.add(merged.hashes[-added:], merged.ids[-added:].tolist())
        self.bundle = merged

    def match_hash(self, pdq: str, pdq_quality: int = 100) -> list[ClientMatch]:
        """Entries within the bundle's match distance of one PDQ hash, nearest first."""
        distance = self.policy.pdq_match_distance
        if self._index is not None:
            return [ClientMatch(i, d) for i, d in self._index.query(pdq, distance)]
        query = parse_pdq_hashes([pdq])[0]
        found: list[ClientMatch] = []
        hashes, ids = self.bundle.hashes, self.bundle.ids
        for lo in range(0, len(hashes), _SCAN_ROWS):
            block = hashes[lo : lo + _SCAN_ROWS]
            dist = np.bitwise_count(block ^ query).sum(axis=1, dtype=np.int32)
            rows = np.flatnonzero(dist <= distance)
            found += [ClientMatch(int(ids[lo + r]), int(dist[r])) for r in rows]
        return sorted(found, key=lambda m: (m.distance, m.entry_id))

    def match_image(self, data: bytes) -> MatchReport:
        """Hash encoded image bytes in memory and match them; the image is not kept."""
        hashes = hash_image_bytes(data)
        assert hashes.pdq is not None and hashes.pdq_quality is not None
        too_weak = hashes.pdq_quality < self.policy.pdq_quality_min
        matches = () if too_weak else tuple(self.match_hash(hashes.pdq, hashes.pdq_quality))
        score = None
        if self.nudity_scorer is not None:
            from safeguard.media.nudity import decode_rgb

            score = float(self.nudity_scorer(decode_rgb(data)))
        return MatchReport(
            bank=self.bundle.header.bank,
            bundle_version=self.bundle.version,
            pdq=hashes.pdq,
            pdq_quality=hashes.pdq_quality,
            too_weak=too_weak,
            match_distance=self.policy.pdq_match_distance,
            matches=matches,
            md5=hashes.md5,
            sha256=hashes.sha256,
            nudity_score=score,
        )
