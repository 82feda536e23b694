"""Video hashing and matching with vPDQ (Meta's per-frame PDQ for video).

vPDQ hashes one frame per second (by default) with PDQ. Two videos match, by
the vPDQ rules threatexchange applies, when after dropping duplicate frame
hashes and frames with quality below 50, at least 80% of the query's frames
are within distance 31 of some frame of the banked video (and at least 0% the
other way round; both shares are reported).

``vpdq`` is the optional ``video`` extra: it builds from source against
Debian's libav*-dev packages (``scripts/system-deps.sh``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from safeguard.errors import InputError, SafeguardError
from safeguard.media.hashing import PDQ_QUALITY_THRESHOLD, VideoFrameHash, VideoHashes, file_digests

__all__ = [
    "VPDQ_DISTANCE_THRESHOLD",
    "VPDQ_QUERY_MATCH_PERCENT",
    "VideoMatchShare",
    "features_to_signal",
    "hash_video_file",
    "parse_vpdq_signal",
    "vpdq_available",
    "vpdq_match_shares",
]

VPDQ_DISTANCE_THRESHOLD = 31
VPDQ_QUERY_MATCH_PERCENT = 80.0
VPDQ_INDEX_MATCH_PERCENT = 0.0

MISSING_VPDQ = (
    "video hashing needs the optional 'video' extra (vpdq): install Debian's "
    "libavdevice-dev libavfilter-dev libavformat-dev libavcodec-dev libswresample-dev "
    "libswscale-dev libavutil-dev (scripts/system-deps.sh), then pip install -e '.[video]'"
)


def vpdq_available() -> bool:
    """Whether the vpdq extension is importable."""
    try:
        import vpdq  # noqa: F401
    except ImportError:
        return False
    return True


def hash_video_file(
    path: str | Path, *, seconds_per_hash: float = 1.0, label: str | None = None
) -> VideoHashes:
    """vPDQ features (one PDQ hash per ``seconds_per_hash``) plus MD5/SHA-256 of a video."""
    label = label or str(path)
    p = Path(path)
    if not p.is_file():
        raise InputError("no such file", path=label)
    if p.stat().st_size == 0:
        raise InputError("empty file", path=label)
    try:
        import vpdq
    except ImportError:
        raise SafeguardError(f"{label}: {MISSING_VPDQ}") from None
    try:
        features = vpdq.computeHash(str(p), seconds_per_hash=seconds_per_hash)
    except Exception as exc:
        raise InputError(f"cannot decode video ({exc})", path=label) from None
    if not features:
        raise InputError("no decodable video frames", path=label)
    md5, sha256 = file_digests(p)
    frames = tuple(
        VideoFrameHash(
            pdq=f.hex,
            quality=int(f.quality),
            frame=int(f.frame_number),
            timestamp=float(f.timestamp),
        )
        for f in features
    )
    return VideoHashes(frames=frames, md5=md5, sha256=sha256)


def features_to_signal(frames: Iterable[VideoFrameHash]) -> str:
    """Serialise frames as threatexchange's vPDQ signal: a JSON list of "hex,quality,seconds"."""
    return json.dumps([f"{f.pdq},{f.quality},{f.timestamp:.3f}" for f in frames])


def parse_vpdq_signal(signal: str) -> tuple[VideoFrameHash, ...]:
    """Parse a vPDQ signal string (JSON list of "hex,quality,seconds"); ValueError if malformed."""
    try:
        items = json.loads(signal)
    except json.JSONDecodeError as exc:
        raise ValueError(f"vpdq signal is not a JSON list ({exc.msg})") from None
    if not isinstance(items, list) or not items:
        raise ValueError("vpdq signal must be a non-empty JSON list of 'hex,quality,seconds'")
    frames = []
    for number, item in enumerate(items):
        parts = item.split(",") if isinstance(item, str) else []
        if len(parts) != 3:
            raise ValueError(f"vpdq frame {number}: expected 'hex,quality,seconds'")
        pdq, quality, seconds = parts
        pdq = pdq.strip().lower()
        if len(pdq) != 64 or any(c not in "0123456789abcdef" for c in pdq):
            raise ValueError(f"vpdq frame {number}: malformed PDQ hash")
        try:
            q, t = int(quality), float(seconds)
        except ValueError:
            raise ValueError(f"vpdq frame {number}: bad quality or timestamp") from None
        if not 0 <= q <= 100 or t < 0:
            raise ValueError(f"vpdq frame {number}: quality must be 0-100 and time >= 0")
        frames.append(VideoFrameHash(pdq=pdq, quality=q, frame=number, timestamp=t))
    return tuple(frames)


@dataclass(frozen=True)
class VideoMatchShare:
    """Shares of frames matched: of the query in the banked video and the reverse (percent)."""

    query_percent: float
    compared_percent: float

    def is_match(
        self,
        query_threshold: float = VPDQ_QUERY_MATCH_PERCENT,
        compared_threshold: float = VPDQ_INDEX_MATCH_PERCENT,
    ) -> bool:
        """The vPDQ decision: both shares at or above their thresholds."""
        return self.query_percent >= query_threshold and self.compared_percent >= compared_threshold


def usable_frames(frames: Sequence[VideoFrameHash]) -> list[str]:
    """Frame hashes kept for matching: unique, quality >= 50 (vPDQ rules)."""
    seen: dict[str, None] = {}
    for f in frames:
        if f.quality >= PDQ_QUALITY_THRESHOLD:
            seen.setdefault(f.pdq, None)
    return list(seen)


def vpdq_match_shares(
    query: Sequence[VideoFrameHash],
    compared: Sequence[VideoFrameHash],
    max_distance: int = VPDQ_DISTANCE_THRESHOLD,
) -> VideoMatchShare:
    """Share of usable query frames within ``max_distance`` of some compared frame, and reverse."""
    from safeguard.media.pdq_index import parse_pdq_hashes

    q, c = usable_frames(query), usable_frames(compared)
    if not q or not c:
        return VideoMatchShare(0.0, 0.0)
    qa, ca = parse_pdq_hashes(q), parse_pdq_hashes(c)
    distance = np.bitwise_count(qa[:, None, :] ^ ca[None, :, :]).sum(axis=2)
    close = distance <= max_distance
    return VideoMatchShare(
        query_percent=100.0 * close.any(axis=1).sum() / len(q),
        compared_percent=100.0 * close.any(axis=0).sum() / len(c),
    )
