"""Back-fill benchmark: messages per second, Spark ``local[*]`` vs the local engine.

    .venv/bin/python benchmarks/bench_backfill.py [--quick]

Generates a Parquet archive partitioned by conversation (2,000,000 messages,
100,000 conversations; ``--quick``: 100,000 messages) in a temp dir, never
kept, and runs ``safeguard backfill INPUT OUTPUT --engine local`` and
``--engine spark`` on it as separate processes (detector fast path). Spark's
figure includes its JVM start-up, as a user running the command sees it.
Writes ``benchmarks/results/backfill.md``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

from safeguard.backfill.synth import generate_archive

RESULTS = common.RESULTS_DIR / "backfill.md"
SAFEGUARD = str(Path(sys.executable).parent / "safeguard")
SUMMARY = re.compile(
    r"scanned (\d+) messages in (\d+) conversations \((\d+) flagged, (\d+) accounts\) in ([\d.]+)s"
)


def run(engine: str, archive: Path, output: Path) -> tuple[float, float, str]:
    """(wall seconds of the process, seconds the job reported, summary line)."""
    started = time.perf_counter()
    done = subprocess.run(
        [SAFEGUARD, "backfill", str(archive), str(output), "--engine", engine],
        capture_output=True, text=True, check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{engine} engine failed:\n{done.stdout}\n{done.stderr[-4000:]}")
    line = done.stdout.strip().splitlines()[-1]
    match = SUMMARY.search(line)
    return wall, float(match.group(5)) if match else wall, line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 100,000-message archive instead of 2,000,000")
    args = parser.parse_args()
    messages = 100_000 if args.quick else 2_000_000
    root = Path(tempfile.mkdtemp(prefix="sg-bench-backfill-"))
    try:
        started = time.perf_counter()
        archive = generate_archive(root / "archive", messages, files=16, risky_share=0.05)
        generated = time.perf_counter() - started
        size = sum(p.stat().st_size for p in archive.glob("*.parquet")) / 2**20
        figures = {}
        for engine in ("local", "spark"):
            figures[engine] = run(engine, archive, root / f"out-{engine}")
            print(engine, figures[engine][2], flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    rows = [
        [engine, common.fmt(wall, 1), common.fmt(job, 1), common.fmt_int(messages / wall),
         common.fmt_int(messages / job)]
        for engine, (wall, job, _) in figures.items()
    ]
    ratio = figures["local"][0] / figures["spark"][0]
    report = (
        "## Back-fill (Spark local[*] vs local engine)\n\n"
        f"{common.machine_line(('safeguard', 'pyspark', 'pyarrow'))}\n\n"
        f"Load average at the end: {common.load_average()}. Written by `benchmarks/bench_backfill.py"
        f"{' --quick' if args.quick else ''}`: a generated Parquet archive of {messages:,} messages "
        f"({messages // 20:,} conversations, 16 files partitioned by conversation, {size:.0f} MiB, "
        f"generated in {generated:.0f} s and deleted afterwards), one run per engine (each run scores "
        "every message; a single run is the median of one), detector fast path (`--embeddings` off). "
        "*wall* is the whole command (Spark: JVM start-up included), *job* the time the command "
        "reports for the scan and write.\n\n"
        + common.md_table(["engine", "wall s", "job s", "msg/s (wall)", "msg/s (job)"], rows)
        + f"\n\nSpark local[*] / local engine speed (wall): **{ratio:.2f}x**. Summaries: "
        + "; ".join(f"{e}: `{f[2]}`" for e, f in figures.items())
        + "\n\n### Scaling limits and what would move them\n\n"
        "- **Python scoring per core.** Both engines spend nearly all their time in the detector's "
        "per-message Python code; the local engine uses one core, Spark one Python worker per core "
        f"({common.nproc()} here, shared with other work). Spark scales out with executors and cores on "
        "a cluster (`spark-submit --master ...`); on one small machine its JVM start-up, shuffle and "
        "Arrow transfer eat much of the gain.\n"
        "- **The shuffle.** Messages are repartitioned by conversation id; an archive already bucketed "
        "by conversation could skip it (a bucketed table, or reading files as whole partitions).\n"
        "- **Local engine memory.** It holds the whole archive as one Arrow table (about the "
        "uncompressed size); beyond a few GB use Spark.\n"
        "- **The embedding stage** (`--embeddings`) makes each executor load the sentence encoder and "
        "costs far more per flagged message; enable it only for a second pass over flagged conversations.\n"
        "- **Long conversations** are scored whole by one task: a single huge conversation bounds the "
        "slowest task (skew).\n"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
