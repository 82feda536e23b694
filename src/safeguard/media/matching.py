"""Match hashes against banks: exact MD5/SHA-256 lookups, PDQ through a cached
in-process :class:`PdqIndex` per bank, and vPDQ by the share of frames matched.

The index cache never blocks a query for a rebuild: when a bank changes, the
first caller to notice brings the index up to date (adding new entries to the
live index, which swaps segments atomically, or building a replacement when
entries were removed) while concurrent callers keep using the previous index.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safeguard.errors import InputError
from safeguard.media.hashing import ImageHashes, VideoHashes
from safeguard.media.models import HashBank, HashBankEntry
from safeguard.media.pdq_index import PDQ_MATCH_DISTANCE, PdqIndex, parse_pdq_hashes
from safeguard.media.signals import normalise_signal
from safeguard.media.video import (
    VPDQ_INDEX_MATCH_PERCENT,
    VPDQ_QUERY_MATCH_PERCENT,
    parse_vpdq_signal,
    usable_frames,
)

__all__ = ["BankMatch", "clear_index_cache", "match_hashes", "match_media", "match_video"]


@dataclass(frozen=True)
class BankMatch:
    """A banked entry that matched, with how close it was and where it came from.

    ``distance`` is the PDQ Hamming distance (0 for exact MD5/SHA-256). For vPDQ,
    ``distance`` is the best frame distance and the two shares say how much of
    each video matched.
    """

    bank: str
    entry_id: int
    signal_type: str
    distance: int
    category: str
    source: str
    external_id: str
    value: str = ""
    added_at: str = ""
    query_match_percent: float | None = None
    compared_match_percent: float | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields (vPDQ shares only for vPDQ matches)."""
        out = asdict(self)
        if self.signal_type != "vpdq":
            out.pop("query_match_percent")
            out.pop("compared_match_percent")
        if len(self.value) > 200:
            out["value"] = self.value[:200] + "..."
        return out


@dataclass
class _CachedIndex:
    index: PdqIndex
    count: int
    max_id: int


class _IndexCache:
    """One live PdqIndex per (database, bank, signal type), refreshed without blocking."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, int, str], _CachedIndex] = {}
        self._locks: dict[tuple[str, int, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def clear(self) -> None:
        with self._guard:
            self._entries.clear()
            self._locks.clear()

    def get(self, session: Session, bank_id: int, signal_type: str) -> _CachedIndex | None:
        key = (str(session.get_bind().url), bank_id, signal_type)
        count, max_id = session.execute(
            select(func.count(), func.max(HashBankEntry.id)).where(
                HashBankEntry.bank_id == bank_id, HashBankEntry.signal_type == signal_type
            )
        ).one()
        count, max_id = int(count), int(max_id or 0)
        cached = self._entries.get(key)
        if cached is not None and cached.count == count and cached.max_id == max_id:
            return cached
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        if not lock.acquire(blocking=cached is None):
            return cached  # another thread is refreshing: use the previous index meanwhile
        try:
            cached = self._entries.get(key)
            if cached is not None and cached.count == count and cached.max_id == max_id:
                return cached
            refreshed = self._refresh(session, bank_id, signal_type, cached, count, max_id)
            self._entries[key] = refreshed
            return refreshed
        finally:
            lock.release()

    @staticmethod
    def _rows(session: Session, bank_id: int, signal_type: str, after: int) -> list[tuple[int, str]]:
        return [
            (int(row[0]), str(row[1]))
            for row in session.execute(
                select(HashBankEntry.id, HashBankEntry.value)
                .where(
                    HashBankEntry.bank_id == bank_id,
                    HashBankEntry.signal_type == signal_type,
                    HashBankEntry.id > after,
                )
                .order_by(HashBankEntry.id)
            )
        ]

    def _refresh(
        self,
        session: Session,
        bank_id: int,
        signal_type: str,
        cached: _CachedIndex | None,
        count: int,
        max_id: int,
    ) -> _CachedIndex:
        if signal_type == "vpdq":
            return _CachedIndex(_build_vpdq(self._rows(session, bank_id, "vpdq", 0)), count, max_id)
        if cached is not None:
            new_rows = self._rows(session, bank_id, signal_type, cached.max_id)
            if cached.count + len(new_rows) == count:
                # Only additions: grow the live index (it swaps segments atomically).
                cached.index.add([v for _, v in new_rows], [i for i, _ in new_rows])
                return _CachedIndex(cached.index, count, max_id)
        rows = self._rows(session, bank_id, signal_type, 0)
        index = PdqIndex([v for _, v in rows], [i for i, _ in rows])
        return _CachedIndex(index, count, max_id)


class _VpdqBankIndex(PdqIndex):
    """A PdqIndex over every usable frame of a bank's videos, ids = frame numbers."""

    frame_entry: np.ndarray
    entry_frames: dict[int, int]


def _build_vpdq(rows: Sequence[tuple[int, str]]) -> PdqIndex:
    hashes: list[str] = []
    owners: list[int] = []
    per_entry: dict[int, int] = {}
    for entry_id, value in rows:
        frames = usable_frames(parse_vpdq_signal(value))
        per_entry[entry_id] = len(frames)
        hashes.extend(frames)
        owners.extend([entry_id] * len(frames))
    index = _VpdqBankIndex(hashes)
    index.frame_entry = np.asarray(owners, dtype=np.int64)
    index.entry_frames = per_entry
    return index


_cache = _IndexCache()


def clear_index_cache() -> None:
    """Forget every cached index (tests; after the database is replaced)."""
    _cache.clear()


def _banks(session: Session, names: list[str] | None) -> list[HashBank]:
    if names is None:
        return list(session.scalars(select(HashBank).order_by(HashBank.name)))
    found = {b.name: b for b in session.scalars(select(HashBank).where(HashBank.name.in_(names)))}
    missing = [n for n in names if n not in found]
    if missing:
        raise InputError(f"no bank named {', '.join(repr(m) for m in missing)}")
    return [found[n] for n in names]


def _entries(session: Session, ids: Sequence[int]) -> dict[int, HashBankEntry]:
    out: dict[int, HashBankEntry] = {}
    id_list = list(ids)
    for start in range(0, len(id_list), 500):
        chunk = id_list[start : start + 500]
        for entry in session.scalars(select(HashBankEntry).where(HashBankEntry.id.in_(chunk))):
            out[entry.id] = entry
    return out


def _match(bank: HashBank, entry: HashBankEntry, distance: int, **extra: float) -> BankMatch:
    return BankMatch(
        bank=bank.name,
        entry_id=entry.id,
        signal_type=entry.signal_type,
        distance=distance,
        category=entry.category,
        source=entry.source,
        external_id=entry.external_id,
        value=entry.value,
        added_at=entry.added_at.isoformat() if entry.added_at else "",
        **extra,
    )


def _exact(session: Session, banks: list[HashBank], signal_type: str, value: str) -> list[BankMatch]:
    by_id = {b.id: b for b in banks}
    query = select(HashBankEntry).where(
        HashBankEntry.signal_type == signal_type,
        HashBankEntry.lookup == value,
        HashBankEntry.bank_id.in_(list(by_id)),
    )
    return [_match(by_id[e.bank_id], e, 0) for e in session.scalars(query)]


def match_hashes(
    session: Session,
    *,
    pdq: str | Sequence[str] | None = None,
    md5: str | None = None,
    sha256: str | None = None,
    banks: list[str] | None = None,
    max_distance: int = PDQ_MATCH_DISTANCE,
) -> list[BankMatch]:
    """Bank entries matching the given hashes, nearest first.

    ``pdq`` may be one hash or several (e.g. the 8 dihedral hashes; the best
    distance per entry is kept). ``banks`` None means every bank. Malformed
    hashes raise :class:`InputError`.
    """
    if not 0 <= max_distance <= 64:
        raise InputError(f"max_distance must be between 0 and 64, got {max_distance}")
    pdq_list = [pdq] if isinstance(pdq, str) else list(pdq or [])
    try:
        pdq_list = [normalise_signal("pdq", h)[1] for h in pdq_list]
        md5 = normalise_signal("md5", md5)[1] if md5 else None
        sha256 = normalise_signal("sha256", sha256)[1] if sha256 else None
    except ValueError as exc:
        raise InputError(str(exc), field="hash") from None
    selected = _banks(session, banks)
    matches: list[BankMatch] = []
    if md5:
        matches += _exact(session, selected, "md5", md5)
    if sha256:
        matches += _exact(session, selected, "sha256", sha256)
    if pdq_list:
        queries = parse_pdq_hashes(pdq_list)
        for bank in selected:
            cached = _cache.get(session, bank.id, "pdq")
            if cached is None or len(cached.index) == 0:
                continue
            best: dict[int, int] = {}
            for hits in cached.index.query_many(queries, max_distance, threads=1):
                for entry_id, distance in hits:
                    if distance < best.get(entry_id, 1 << 30):
                        best[entry_id] = distance
            entries = _entries(session, best)
            matches += [_match(bank, entries[i], d) for i, d in best.items() if i in entries]
    return sorted(matches, key=lambda m: (m.distance, m.bank, m.entry_id))


def match_video(
    session: Session,
    video: VideoHashes,
    *,
    banks: list[str] | None = None,
    max_distance: int = PDQ_MATCH_DISTANCE,
    query_threshold: float = VPDQ_QUERY_MATCH_PERCENT,
    compared_threshold: float = VPDQ_INDEX_MATCH_PERCENT,
) -> list[BankMatch]:
    """Banked videos matching ``video``: exact MD5/SHA-256, and vPDQ by share of frames."""
    matches = match_hashes(session, md5=video.md5, sha256=video.sha256, banks=banks)
    query_frames = usable_frames(video.frames)
    if not query_frames:
        return matches
    queries = parse_pdq_hashes(query_frames)
    for bank in _banks(session, banks):
        cached = _cache.get(session, bank.id, "vpdq")
        if cached is None or len(cached.index) == 0:
            continue
        index = cached.index
        assert isinstance(index, _VpdqBankIndex)
        query_hits: dict[int, set[int]] = {}
        frame_hits: dict[int, set[int]] = {}
        best: dict[int, int] = {}
        for q, hits in enumerate(index.query_many(queries, max_distance, threads=1)):
            for frame, distance in hits:
                entry_id = int(index.frame_entry[frame])
                query_hits.setdefault(entry_id, set()).add(q)
                frame_hits.setdefault(entry_id, set()).add(frame)
                best[entry_id] = min(best.get(entry_id, distance), distance)
        shares = {
            entry_id: (
                100.0 * len(qs) / len(query_frames),
                100.0 * len(frame_hits[entry_id]) / max(1, index.entry_frames[entry_id]),
            )
            for entry_id, qs in query_hits.items()
        }
        keep = {e: s for e, s in shares.items() if s[0] >= query_threshold and s[1] >= compared_threshold}
        entries = _entries(session, keep)
        matches += [
            _match(
                bank,
                entries[e],
                best[e],
                query_match_percent=round(s[0], 2),
                compared_match_percent=round(s[1], 2),
            )
            for e, s in keep.items()
            if e in entries
        ]
    return sorted(matches, key=lambda m: (m.distance, m.bank, m.entry_id))


def match_media(
    session: Session,
    hashes: ImageHashes | VideoHashes,
    *,
    banks: list[str] | None = None,
    max_distance: int = PDQ_MATCH_DISTANCE,
    use_weak_pdq: bool = False,
) -> list[BankMatch]:
    """Matches for a hashed image or video. PDQ hashes of quality < 50 are not
    matched (too weak to act on) unless ``use_weak_pdq``; MD5/SHA-256 always are."""
    if isinstance(hashes, VideoHashes):
        return match_video(session, hashes, banks=banks, max_distance=max_distance)
    pdq: list[str] = []
    if hashes.pdq and (use_weak_pdq or not hashes.too_weak):
        pdq = list(hashes.pdq_dihedral or (hashes.pdq,))
    return match_hashes(
        session,
        pdq=pdq,
        md5=hashes.md5,
        sha256=hashes.sha256,
        banks=banks,
        max_distance=max_distance,
    )
