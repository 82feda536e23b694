"""PdqIndex is exact: every entry within the distance, nothing beyond, on every layout."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

import safeguard.media.pdq_index as pdq_index
from safeguard import PdqIndex
from safeguard.errors import InputError


def random_hashes(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 2**64 - 1, size=(n, 4), dtype=np.uint64, endpoint=True)


def flip(rng: np.random.Generator, word: np.ndarray, bits: int) -> np.ndarray:
    out = word.copy()
    for b in rng.choice(256, size=bits, replace=False):
        out[b // 64] ^= np.uint64(1) << np.uint64(b % 64)
    return out


def to_hex(words: np.ndarray) -> list[str]:
    return [row.tobytes().hex() for row in np.atleast_2d(words)]


def brute_force(hashes: np.ndarray, ids: np.ndarray, query: np.ndarray, d: int) -> list:
    dist = np.bitwise_count(hashes ^ query).sum(axis=1)
    hits = np.flatnonzero(dist <= d)
    return sorted(((int(ids[i]), int(dist[i])) for i in hits), key=lambda t: (t[1], t[0]))


def planted_case(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n random hashes plus, per distance 0..33, a planted neighbour of a query."""
    rng = np.random.default_rng(seed)
    hashes = random_hashes(rng, n)
    queries = random_hashes(rng, 40)
    planted = [flip(rng, queries[d % 40], d) for d in range(34)]
    # Several neighbours of one query at once, and the same hash twice.
    planted += [flip(rng, queries[0], d) for d in (3, 17, 31, 32)] + [queries[1]]
    return np.concatenate([hashes, np.array(planted)]), queries


LAYOUTS = {
    "scan": None,
    "16-bit": (16,) * 16,
    "22-bit": (22,) * 4 + (21,) * 8,
    "24-bit": (24,) * 3 + (23,) * 8,
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_exact_against_brute_force(layout: str, monkeypatch: pytest.MonkeyPatch) -> None:
    widths = LAYOUTS[layout]
    n = 3000 if widths is None else 30_000
    if widths is not None:
        monkeypatch.setattr(pdq_index, "_BRUTE_FORCE_MAX", 100)
        monkeypatch.setattr(pdq_index, "_chunk_widths", lambda _n: widths)
    hashes, queries = planted_case(7, n)
    ids = np.arange(len(hashes)) * 3 + 11
    index = PdqIndex(to_hex(hashes), ids.tolist())
    assert len(index) == len(hashes)
    assert index._segments[0].widths == (widths or ())
    for d in (0, 1, 15, 23, 31, 32):
        got = index.query_many(to_hex(queries), max_distance=d)
        for q, hits in zip(queries, got, strict=True):
            assert hits == brute_force(hashes, ids, q, d)
    # Every planted neighbour at distance <= 31 is found at 31, the one at 32 is not.
    at31 = index.query(to_hex(queries[0])[0])
    distances = [dist for _, dist in at31]
    assert {0, 3, 17, 31} <= set(distances) and 32 not in distances
    assert distances == sorted(distances)


def test_large_distance_falls_back_to_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdq_index, "_SCAN_ROWS", 1000)
    rng = np.random.default_rng(3)
    hashes = random_hashes(rng, 6000)
    index = PdqIndex(hashes)
    query = hashes[5]
    for d in (70, 110):
        assert index.query(to_hex(query)[0], max_distance=d) == brute_force(hashes, np.arange(6000), query, d)


def test_meta_needles_and_haystack(conformance: Path) -> None:
    haystack = (conformance / "haystack.txt").read_text().split()
    needles = (conformance / "needles.txt").read_text().split()
    index = PdqIndex(haystack)
    words = pdq_index.parse_pdq_hashes(haystack)
    results = index.query_many(needles)
    assert sum(map(len, results)) > 0
    for needle, hits in zip(needles, results, strict=True):
        q = pdq_index.parse_pdq_hashes([needle])[0]
        assert hits == brute_force(words, np.arange(len(haystack)), q, 31)


def test_query_matches_query_many_and_threads() -> None:
    hashes, queries = planted_case(11, 20_000)
    index = PdqIndex(hashes)
    batched = index.query_many(to_hex(queries), threads=2)
    assert batched == index.query_many(to_hex(queries), threads=1)
    assert batched == [index.query(h) for h in to_hex(queries)]


def test_save_load_round_trip(tmp_path: Path) -> None:
    hashes, queries = planted_case(5, 20_000)
    ids = np.arange(len(hashes)) + 1000
    index = PdqIndex(hashes, ids)
    index.add(to_hex(queries[:3]), [1, 2, 3])
    path = tmp_path / "bank.pdqindex"
    index.save(path)
    loaded = PdqIndex.load(path)
    assert len(loaded) == len(index)
    assert loaded.query_many(to_hex(queries)) == index.query_many(to_hex(queries))
    assert loaded.query(to_hex(queries[2])[0])[0] == (3, 0)
    # The file is safetensors: a JSON header says what it holds.
    header_len = int.from_bytes(path.read_bytes()[:8], "little")
    assert b'"format":"safeguard-pdq-index"' in path.read_bytes()[8 : 8 + header_len]


def test_load_rejects_foreign_or_broken_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not an index at all")
    with pytest.raises(InputError, match="not a PDQ index file"):
        PdqIndex.load(junk)
    with pytest.raises(InputError, match="no such file"):
        PdqIndex.load(tmp_path / "missing")
    from safetensors.numpy import save_file

    other = tmp_path / "other.safetensors"
    save_file({"x": np.zeros(3, np.uint8)}, str(other), metadata={"format": "something"})
    with pytest.raises(InputError, match="not a Safeguard PDQ index"):
        PdqIndex.load(other)


def test_add_keeps_results_exact_and_merges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdq_index, "_MERGE_MIN", 15_000)
    rng = np.random.default_rng(2)
    base = random_hashes(rng, 20_000)
    index = PdqIndex(base)
    extra = random_hashes(rng, 12_000)
    for start in range(0, len(extra), 3000):
        index.add(extra[start : start + 3000])
    assert len(index) == 32_000
    # Small additions sit in a delta segment; past the threshold they merge into one.
    assert len(index._segments) == 2
    index.add(random_hashes(rng, 6000))
    assert len(index._segments) == 1
    everything = np.concatenate([base, extra, index._segments[0].hashes[-6000:]])
    queries = np.array([flip(rng, extra[i], i % 32) for i in range(0, 12_000, 400)])
    for q, hits in zip(queries, index.query_many(queries), strict=True):
        assert hits == brute_force(everything, np.arange(len(everything)), q, 31)


def test_add_does_not_block_concurrent_queries() -> None:
    rng = np.random.default_rng(4)
    base = random_hashes(rng, 40_000)
    index = PdqIndex(base)
    probe = to_hex(flip(rng, base[123], 9))[0]
    errors: list[str] = []
    answered = 0
    stop = threading.Event()

    def reader() -> None:
        nonlocal answered
        while not stop.is_set():
            hits = index.query(probe)
            if (123, 9) not in hits:
                errors.append(f"lost the planted match: {hits}")
            answered += 1

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    new = random_hashes(rng, 70_000)  # big enough to force a full merge rebuild
    new[500] = flip(rng, pdq_index.parse_pdq_hashes(probe)[0], 4)
    index.add(new, list(range(100_000, 170_000)))
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert answered > 0
    assert (100_500, 4) in index.query(probe)
    assert len(index) == 110_000


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("abc", "64 hex characters, got 3"),
        ("g" * 64, "hexadecimal"),
        ("0" * 63 + "é", "hexadecimal"),
        ("0" * 65, "got 65"),
        ("0" * 30 + "  " + "0" * 32, "hexadecimal"),
    ],
)
def test_malformed_hashes_are_named(bad: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        PdqIndex(["0" * 64, bad])
    index = PdqIndex(["0" * 64])
    with pytest.raises(InputError, match="query 0"):
        index.query(bad)


def test_ids_duplicates_and_empty_index() -> None:
    with pytest.raises(InputError, match="2 hashes but 1 ids"):
        PdqIndex(["0" * 64, "f" * 64], [1])
    index = PdqIndex([])
    assert len(index) == 0 and index.query("0" * 64) == []
    index.add(["0" * 64, "0" * 64], [7, 5])
    assert index.query("0" * 63 + "1") == [(5, 1), (7, 1)]
    index.add(["f" * 64])
    assert index.query("f" * 64) == [(8, 0)]
