"""Signal types a hash bank holds, and how each value is validated and normalised.

One small table, so adding a type is adding a row here. Names follow the
``threatexchange`` package (``SignalType.get_name()``), with its aliases.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["SIGNAL_TYPES", "canonical_signal_type", "lookup_key", "normalise_signal"]

_HEX = re.compile(r"^[0-9a-f]+$")


def _hex(length: int, label: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        v = value.strip().lower()
        if len(v) != length:
            raise ValueError(f"{label} must be {length} hex characters, got {len(v)}")
        if not _HEX.match(v):
            raise ValueError(f"{label} must be hexadecimal (0-9, a-f)")
        return v

    return check


def _vpdq(value: str) -> str:
    from safeguard.media.video import features_to_signal, parse_vpdq_signal

    return features_to_signal(parse_vpdq_signal(value))


def _url(value: str) -> str:
    from safeguard.errors import InputError
    from safeguard.media.urls import normalise_url

    try:
        return normalise_url(value)
    except InputError as exc:
        raise ValueError(exc.reason) from None


@dataclass(frozen=True)
class SignalType:
    """A kind of banked signal: its name and value normaliser."""

    name: str
    normalise: Callable[[str], str]
    media: str  # "image", "video", "media" (both) or "url"


SIGNAL_TYPES: dict[str, SignalType] = {
    "pdq": SignalType("pdq", _hex(64, "PDQ hash"), "image"),
    "md5": SignalType("md5", _hex(32, "MD5"), "media"),
    "sha256": SignalType("sha256", _hex(64, "SHA-256"), "media"),
    "vpdq": SignalType("vpdq", _vpdq, "video"),
    "url": SignalType("url", _url, "url"),
    "url_md5": SignalType("url_md5", _hex(32, "URL MD5"), "url"),
}

_ALIASES = {
    "photo_pdq": "pdq",
    "hash_pdq": "pdq",
    "pdq_hash": "pdq",
    "video_md5": "md5",
    "photo_md5": "md5",
    "hash_md5": "md5",
    "hash_video_md5": "md5",
    "video_sha256": "sha256",
    "hash_sha256": "sha256",
    "hash_video_sha256": "sha256",
    "sha-256": "sha256",
    "uri": "url",
    "raw_uri": "url",
    "hash_url_md5": "url_md5",
}


def canonical_signal_type(name: str) -> str:
    """The canonical signal type for ``name`` (case-insensitive, aliases allowed)."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in SIGNAL_TYPES:
        supported = ", ".join(sorted(SIGNAL_TYPES))
        raise ValueError(f"unsupported signal type {name.strip()!r} (supported: {supported})")
    return key


def normalise_signal(signal_type: str, value: str) -> tuple[str, str]:
    """``(canonical type, normalised value)``; ValueError with the reason when invalid."""
    kind = canonical_signal_type(signal_type)
    if value is None or not value.strip():
        raise ValueError("empty hash value")
    return kind, SIGNAL_TYPES[kind].normalise(value)


def lookup_key(signal_type: str, value: str) -> str:
    """The indexed exact-match key: the value itself, or a digest of long values (vPDQ, URLs)."""
    if signal_type == "vpdq" or len(value) > 256:
        return "sha256:" + hashlib.sha256(value.encode()).hexdigest()
    return value
