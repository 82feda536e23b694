"""On-device matching benchmark: what a device pays to match images against a bank.

For banks of 100,000 and 1,000,000 random PDQ hashes (plus the conformance
bridge photo's published hash, so edited copies of it match): the signed
snapshot's size, and the size of a delta of 1,000 new hashes; signing and
verification time; then, per matching mode (``index``: the exact multi-index
PdqIndex; ``scan``: a vectorised popcount over the bundle's own arrays), the
build time, memory (RSS growth from building the matcher, in its own child
process) and the time per image to hash (PDQ, in memory) and to match. Images
are the benign PDQ conformance photos. Figures are medians.

Writes ``benchmarks/results/client.md``. ``--quick`` is a small smoke run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import common  # noqa: E402

RESULTS = HERE / "results" / "client.md"
PHOTOS = HERE.parent / "tests" / "fixtures" / "pdq-conformance"
DELTA_SIZE = 1_000


def _rss() -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _images() -> list[tuple[str, bytes]]:
    paths = sorted(PHOTOS.glob("*/*.jpg")) + sorted(PHOTOS.glob("*/*.png"))
    return [(str(p.relative_to(PHOTOS)), p.read_bytes()) for p in paths]


def _orig_hash() -> str:
    for line in (PHOTOS / "expected.csv").read_text().splitlines():
        if line.startswith("bridge-mods/aaa-orig.jpg,"):
            return line.split(",")[1]
    raise SystemExit("expected.csv lacks bridge-mods/aaa-orig.jpg")


def child(size: int, mode: str, repeats: int) -> dict[str, object]:
    """One bank size and mode, measured in this (fresh) process."""
    import numpy as np
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from safeguard.client import ClientMatcher, encode_bundle, verify_bundle
    from safeguard.media.hashing import hash_image_bytes
    from safeguard.media.pdq_index import parse_pdq_hashes

    images = _images()
    rng = np.random.default_rng(size)
    words = rng.integers(0, 2**64 - 1, size=(size, 4), dtype=np.uint64, endpoint=True)
    words[size // 2] = parse_pdq_hashes([_orig_hash()])[0]
    ids = np.arange(1, size + 1, dtype=np.int64)
    key = Ed25519PrivateKey.generate()
    until = datetime.now(UTC) + timedelta(days=7)
    started = time.perf_counter()
    data = encode_bundle(
        private_key=key, bank="bench", hashes=words, ids=ids, version=size, total=size, valid_until=until
    )
    sign_s = time.perf_counter() - started
    extra = rng.integers(0, 2**64 - 1, size=(DELTA_SIZE, 4), dtype=np.uint64, endpoint=True)
    delta = encode_bundle(
        private_key=key,
        bank="bench",
        hashes=extra,
        ids=np.arange(size + 1, size + DELTA_SIZE + 1),
        version=size + DELTA_SIZE,
        total=size + DELTA_SIZE,
        since=size,
        valid_until=until,
    )
    del words, extra
    started = time.perf_counter()
    bundle = verify_bundle(data, key.public_key())
    verify_s = time.perf_counter() - started
    size_bytes = len(data)
    del data
    before = _rss()
    started = time.perf_counter()
    matcher = ClientMatcher(bundle, mode=mode)
    build_s = time.perf_counter() - started
    growth = _rss() - before
    hash_times: list[float] = []
    match_times: list[float] = []
    matched = 0
    for _ in range(repeats):
        for _name, raw in images:
            t0 = time.perf_counter()
            hashes = hash_image_bytes(raw)
            t1 = time.perf_counter()
            found = matcher.match_hash(hashes.pdq or "")
            t2 = time.perf_counter()
            hash_times.append(t1 - t0)
            match_times.append(t2 - t1)
            matched += bool(found)
    started = time.perf_counter()
    matcher.update(verify_bundle(delta, key.public_key()))
    delta_s = time.perf_counter() - started
    return {
        "size": size,
        "mode": mode,
        "bundle_bytes": size_bytes,
        "delta_bytes": len(delta),
        "sign_s": sign_s,
        "verify_s": verify_s,
        "build_s": build_s,
        "rss_growth": growth,
        "nbytes": matcher.nbytes,
        "hash_ms": common.median(hash_times) * 1000,
        "match_ms": common.median(match_times) * 1000,
        "match_p95_ms": common.percentile(match_times, 95) * 1000,
        "total_ms": common.median([h + m for h, m in zip(hash_times, match_times, strict=True)]) * 1000,
        "images": len(images),
        "matched_per_round": matched // repeats,
        "delta_apply_s": delta_s,
    }


def run_child(size: int, mode: str, repeats: int) -> dict[str, object]:
    cmd = [common.python_exe(), str(Path(__file__).resolve()), "--child", str(size), mode, str(repeats)]
    result = common.measure_peak_rss(cmd, timeout=1800)
    if result.returncode != 0:
        raise SystemExit(f"child {size} {mode} failed:\n{result.stderr}")
    out = json.loads(result.stdout.strip().splitlines()[-1])
    out["peak_rss"] = result.max_rss_mib
    return out


def mib(value: float) -> str:
    return f"{value / 2**20:,.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--repeats", type=int, default=3, help="rounds over the photos")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        size, mode, repeats = args.child
        print(json.dumps(child(int(size), mode, int(repeats))))
        return
    sizes = [10_000, 100_000] if args.quick else [100_000, 1_000_000]
    repeats = 1 if args.quick else args.repeats
    load_start = os.getloadavg()[0]
    runs = []
    for size in sizes:
        for mode in ("index", "scan"):
            print(f"client bench: {size:,} hashes, {mode}", file=sys.stderr)
            runs.append(run_child(size, mode, repeats))
    load_end = os.getloadavg()[0]

    lines = [
        "## On-device matching (client bundle)",
        "",
        f"{common.machine_line(('safeguard', 'numpy', 'pdqhash', 'Pillow', 'cryptography'))} "
        f"Date: {common.utc_now()}. Load average {load_start:.1f} at the start and {load_end:.1f} at "
        "the end (other work may share the machine).",
        "",
        f"Banks of random PDQ hashes plus one published conformance hash; queries: the "
        f"{runs[0]['images']} PDQ conformance photos, {repeats} round(s); each bank size and mode "
        "measured in its own process. Hash = decode + PDQ in memory; match = search the snapshot at "
        "distance 31. Medians per image. `index` = the exact multi-index `PdqIndex`; `scan` = "
        "vectorised popcount over the snapshot's arrays (no extra tables).",
        "",
    ]
    rows = []
    for r in runs:
        rows.append(
            [
                f"{r['size']:,}",
                r["mode"],
                f"{r['hash_ms']:.1f} ms",
                f"{r['match_ms']:.2f} ms (p95 {r['match_p95_ms']:.2f})",
                f"{r['total_ms']:.1f} ms",
                f"{r['build_s']:.2f} s",
                mib(float(r["rss_growth"])),
                f"{float(r['peak_rss']):,.0f} MiB",
                f"{r['matched_per_round']}",
            ]
        )
    lines.append(
        common.md_table(
            [
                "hashes",
                "mode",
                "hash / image",
                "match / image",
                "hash + match",
                "build",
                "memory (RSS growth)",
                "peak RSS",
                "photos matched",
            ],
            rows,
            "llrrrrrrr",
        )
    )
    lines += ["", "Snapshot sizes and signature checks (Ed25519 over the exact bytes):", ""]
    seen = set()
    size_rows = []
    for r in runs:
        if r["size"] in seen:
            continue
        seen.add(r["size"])
        size_rows.append(
            [
                f"{r['size']:,}",
                mib(float(r["bundle_bytes"])),
                f"{float(r['bundle_bytes']) / int(r['size']):.1f} B",
                f"{float(r['delta_bytes']) / 1024:,.1f} KiB",
                f"{r['sign_s'] * 1000:,.0f} ms",
                f"{r['verify_s'] * 1000:,.0f} ms",
                f"{r['delta_apply_s'] * 1000:,.0f} ms",
            ]
        )
    lines.append(
        common.md_table(
            [
                "hashes",
                "full snapshot",
                "per hash",
                f"delta of {DELTA_SIZE:,}",
                "sign",
                "verify + parse",
                "apply delta (index mode)",
            ],
            size_rows,
        )
    )
    lines += [
        "",
        "Photos matched: the bridge photo's edits and orientations that stay within distance 31 of the "
        "banked original (the same count in both modes, as both are exact).",
        "",
    ]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
