"""Stream worker benchmark: throughput with 1 and 2 workers, XADD-to-decision latency.

    .venv/bin/python benchmarks/bench_stream.py [--quick]

Starts a throw-away ``redis-server`` on a loopback port and ``safeguard worker``
processes against a fresh store per run: SQLite (the default deployment) and,
when its binaries are installed, a throw-away PostgreSQL cluster on loopback
(started with the test suite's helper); the detector's fast path. Throughput: a
burst of messages published once the workers own their partitions, timed until
the last result is published.
Latency: messages paced at half the one-worker throughput; per message, the
results entry's ``decided_ms`` (taken after the commit) minus the XADD time in
the entry id. Writes ``benchmarks/results/stream.md``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

from safeguard.accounts.service import upsert_account
from safeguard.config import Settings
from safeguard.policy.engine import MessageEvent
from safeguard.store.db import dispose_engines, session_scope
from safeguard.stream import EventProducer, StreamLayout

RESULTS = common.RESULTS_DIR / "stream.md"
SAFEGUARD = str(Path(sys.executable).parent / "safeguard")
PARTITIONS = 8
CONVERSATIONS = 200
TEXTS = ["hi", "how was school", "add me on snap", "lol", "dont tell your mum", "gg", "what level are you"]


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _event(i: int) -> MessageEvent:
    c = i % CONVERSATIONS
    adult = i // CONVERSATIONS % 2 == 0
    return MessageEvent(f"c{c}", f"m{i}", "adult" if adult else f"k{c}", TEXTS[i % len(TEXTS)],
                        (f"k{c}",) if adult else ("adult",))


def _seed(db_url: str) -> None:
    settings = Settings(database_url=db_url)
    with session_scope(db_url) as session:
        upsert_account(session, "adult", age_band="adult", settings=settings)
        for c in range(CONVERSATIONS):
            upsert_account(session, f"k{c}", age_band="child", settings=settings)
    dispose_engines()


class Bench:
    """One redis-server for the whole benchmark; one SQLite store and prefix per run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pg = None
        self._pg_stop = None
        self.port = _port()
        self.server = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(root)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.client = redis.Redis.from_url(self.url, decode_responses=True)
        for _ in range(200):
            try:
                self.client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        self.runs = 0

    def start_postgres(self) -> bool:
        """A loopback PostgreSQL cluster from ``tests/conftest.py``'s helper, if installed."""
        path = common.REPO / "tests" / "conftest.py"
        spec = importlib.util.spec_from_file_location("sg_test_conftest", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        if module._pg_bin() is None:
            return False
        pg_root = tempfile.mkdtemp(prefix="sg-bench-pg-")
        os.chmod(pg_root, 0o755)
        self.pg, self._pg_stop = module.start_cluster(pg_root)
        return True

    def database(self, store: str, name: str) -> str:
        if store == "sqlite":
            return f"sqlite:///{self.root / f'{name}.db'}"
        return self.pg.fresh_database(template=None)

    def close(self) -> None:
        if self._pg_stop is not None:
            self._pg_stop()
        self.server.terminate()
        self.server.wait(timeout=10)

    def run(self, store: str, workers: int, total: int, rate: float | None) -> tuple[float, list[float]]:
        """(messages per second, latencies in ms) of one run."""
        self.runs += 1
        prefix = f"bench{self.runs}"
        db_url = self.database(store, prefix)
        _seed(db_url)
        layout = StreamLayout(prefix, PARTITIONS)
        env = {**os.environ, "SAFEGUARD_DATABASE_URL": db_url, "SAFEGUARD_DETECTOR_EMBEDDINGS": "false",
               "SAFEGUARD_LOG_LEVEL": "warning"}
        procs = [
            subprocess.Popen([SAFEGUARD, "worker", "--stream", self.url, "--prefix", prefix,
                              "--partitions", str(PARTITIONS), "--lease-ms", "3000", "--block-ms", "200"],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(workers)
        ]
        try:
            producer = EventProducer(self.client, layout, max_backlog=1_000_000)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                owners = {self.client.get(layout.lease(k)) for k in range(PARTITIONS)}
                if None not in owners and len(owners) == workers:
                    break
                time.sleep(0.1)
            events = [_event(i) for i in range(total)]
            started = time.perf_counter()
            if rate is None:
                for start in range(0, total, 500):
                    producer.publish(events[start : start + 500])
            else:
                for i, event in enumerate(events):
                    delay = started + i / rate - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                    producer.publish([event])
            while self.client.xlen(layout.results) < total:
                time.sleep(0.01)
            elapsed = time.perf_counter() - started
            latencies = [
                int(f["decided_ms"]) - int(f["entry_id"].split("-")[0])
                for _, f in self.client.xrange(layout.results)
            ]
            return total / elapsed, latencies
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: fewer messages, one repeat")
    args = parser.parse_args()
    total = 600 if args.quick else 3000
    repeats = 1 if args.quick else 3
    root = Path(tempfile.mkdtemp(prefix="sg-bench-stream-"))
    bench = Bench(root)
    stores = ["sqlite"]
    rows = []
    ratios = []
    try:
        if bench.start_postgres():
            stores.append("postgresql")
        for store in stores:
            throughput = {n: [bench.run(store, n, total, None)[0] for _ in range(repeats)] for n in (1, 2)}
            one, two = common.median(throughput[1]), common.median(throughput[2])
            paced = max(10.0, one / 2)
            latency = {n: bench.run(store, n, max(200, total // 3), paced)[1] for n in (1, 2)}
            ratios.append(f"{store} **{two / one:.2f}**")
            rows.extend(
                [store, f"{n}", common.fmt_int(common.median(throughput[n])),
                 ", ".join(common.fmt_int(v) for v in throughput[n]), f"{paced:.0f}",
                 common.fmt(common.percentile(latency[n], 50), 1),
                 common.fmt(common.percentile(latency[n], 99), 1)]
                for n in (1, 2)
            )
    finally:
        bench.close()
        shutil.rmtree(root, ignore_errors=True)
    report = (
        "## Stream workers (Redis Streams)\n\n"
        f"{common.machine_line(('safeguard', 'redis', 'sqlalchemy'))}\n\n"
        f"Load average at the end: {common.load_average()}. Written by `benchmarks/bench_stream.py"
        f"{' --quick' if args.quick else ''}`. {total} messages per throughput run ({repeats} run(s) per "
        f"configuration, median), {PARTITIONS} partitions, {CONVERSATIONS} conversations, detector fast "
        "path, "
        "worker processes started and owning their partitions before the burst. Latency runs are paced at "
        "half the one-worker throughput of that store; latency = decision committed (results entry "
        "`decided_ms`) minus the XADD time in the entry id.\n\n"
        + common.md_table(["store", "workers", "msg/s (median)", "runs", "paced msg/s", "latency p50 ms",
                           "latency p99 ms"], rows)
        + f"\n\nScaling ratio, 2 workers / 1 worker: {'; '.join(ratios)}.\n\n"
        "### Scaling limits and what would move them\n\n"
        "- **The engine's per-batch store work.** A worker spends most of its time in `MessageEngine`: one "
        "read of everything a batch needs (stored decisions, conversation states, the accounts' context), "
        "the detector, then the batch's writes in a few statements and one commit. On PostgreSQL each "
        "statement is a round trip; the API benchmark reports the engine's CPU per message alone.\n"
        "- **The store's writer.** On SQLite only one process writes at a time (a file lock); each worker "
        "decides its batch before taking the lock and, under it, only checks that the conversations it "
        "read are unchanged and writes, so workers overlap their deciding and queue only for the writes. "
        "PostgreSQL lets workers commit in parallel: each batch is decided without locks and written "
        "by one statement that checks its conversations' versions; partitioning by conversation means "
        "two workers' batches never hold the same conversation (senders shared across partitions "
        "still meet on account rows).\n"
        "- **Cores.** This machine has "
        f"{common.nproc()} shared cores for Redis, PostgreSQL, the producer and the workers (and was busy "
        "with other work, see the load average); one worker is one GIL-bound Python process, so workers "
        "scale with cores until the store saturates.\n"
        "- **Partitions.** At most one worker per partition (the unit of ordering): raise `--partitions` "
        "(fixed per deployment prefix) before adding workers beyond it.\n"
        "- **Per-batch round trips.** Each batch costs a read, a transaction, a results pipeline and an "
        "XACK; a larger `--batch` amortises them at the cost of latency. Latency under load is queueing: "
        "p99 rises as the arrival rate nears throughput.\n"
        "- **Redis** (one thread) is far from its limit at these rates; a Redis Cluster with hash-tagged "
        "partition keys would spread it further.\n"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
