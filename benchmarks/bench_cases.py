"""Case queue benchmark: the review queue's latency with 100,000 open cases.

    .venv/bin/python benchmarks/bench_cases.py [--quick]

Fills a fresh store with open cases (kinds, categories, risks, child involvement and
ages spread as a busy platform's), then times ``cases.queue`` (what ``GET /v1/cases``
and the console call) for the first page, a deep page and a filtered page (one
category), in process on SQLite and, when its binaries are installed, on a
throw-away PostgreSQL cluster on loopback. Reports the median and p95 over repeats.
Writes ``benchmarks/results/cases.md``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
from sqlalchemy import insert

from safeguard.cases import service as cases
from safeguard.cases.escalations import sort_categories
from safeguard.cases.models import CaseRow
from safeguard.cases.priority import base_priority
from safeguard.config import Settings
from safeguard.core.clock import utcnow
from safeguard.store.db import dispose_engines, get_engine, session_scope

RESULTS = common.RESULTS_DIR / "cases.md"
PAGE = 50
CATEGORIES = ["secrecy", "platform_move", "flattery", "meeting", "coercion", "sexual_content", "media_match"]
KINDS = ["grooming", "media_match", "account_risk", "user_report"]


def _rows(count: int, seed: int = 17) -> list[dict]:
    rng = random.Random(seed)
    now = utcnow()
    rows = []
    for i in range(count):
        cats = sort_categories(rng.sample(CATEGORIES, rng.randint(0, 3)))
        risk, child = rng.random(), rng.random() < 0.6
        rows.append(
            {
                "id": f"case-{i:07d}",
                "kind": KINDS[i % len(KINDS)],
                "source": "automated",
                "status": "open",
                "subject_account_id": f"acct-{rng.randrange(count // 4 + 1)}",
                "recipient_ids": [f"child-{rng.randrange(1000)}"],
                "surface": "dm",
                "child_involved": child,
                "risk": risk,
                "categories": cats,
                "priority_base": base_priority(risk=risk, child_involved=child, categories=cats),
                "actions": [],
                "legal_hold": False,
                "created_at": now - timedelta(minutes=rng.randrange(60 * 24 * 30)),
            }
        )
    return rows


def _fill(url: str, count: int) -> None:
    get_engine(url)  # migrated
    rows = _rows(count)
    with session_scope(url) as session:
        for start in range(0, len(rows), 10_000):
            session.execute(insert(CaseRow), rows[start : start + 10_000])
    with get_engine(url).begin() as connection:
        connection.exec_driver_sql("ANALYZE")


def _time(url: str, settings: Settings, filters: cases.QueueFilters, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        with session_scope(url) as session:
            started = time.perf_counter()
            items, total = cases.queue(session, settings, filters)
            times.append((time.perf_counter() - started) * 1000)
        assert items and total
    return times


def _postgres() -> tuple[str, object] | None:
    path = common.REPO / "tests" / "conftest.py"
    spec = importlib.util.spec_from_file_location("sg_test_conftest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    if module._pg_bin() is None:
        return None
    root = tempfile.mkdtemp(prefix="sg-bench-pg-")
    os.chmod(root, 0o755)
    cluster, stop = module.start_cluster(root)
    return cluster.fresh_database(template=None), stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 20,000 cases, fewer repeats")
    parser.add_argument("--cases", type=int, default=None)
    args = parser.parse_args()
    count = args.cases or (20_000 if args.quick else 100_000)
    repeats = 5 if args.quick else 15
    root = Path(tempfile.mkdtemp(prefix="sg-bench-cases-"))
    stores = [("SQLite", f"sqlite:///{root / 'cases.db'}", None)]
    rows = []
    try:
        pg = _postgres()
        if pg is not None:
            stores.append(("PostgreSQL", pg[0], pg[1]))
        for name, url, _ in stores:
            settings = Settings(database_url=url)
            started = time.perf_counter()
            _fill(url, count)
            filled = time.perf_counter() - started
            pages = [
                ("first page", cases.QueueFilters(limit=PAGE)),
                (f"deep page (offset {count // 2:,})", cases.QueueFilters(limit=PAGE, offset=count // 2)),
                ("first page, category coercion", cases.QueueFilters(limit=PAGE, category="coercion")),
            ]
            for label, filters in pages:
                _time(url, settings, filters, 1)  # warm the caches
                times = _time(url, settings, filters, repeats)
                median, p95 = common.median(times), common.percentile(times, 95)
                rows.append([name, label, common.fmt(median, 1), common.fmt(p95, 1)])
            print(f"{name}: {count:,} cases filled in {filled:.1f}s", flush=True)
            dispose_engines()
    finally:
        for _, _, stop in stores:
            if stop is not None:
                stop()  # type: ignore[operator]
        shutil.rmtree(root, ignore_errors=True)
    report = (
        "## Case queue\n\n"
        f"{common.machine_line(('safeguard', 'sqlalchemy'))}\n\n"
        f"Load average at the end: {common.load_average()}. Written by `benchmarks/bench_cases.py"
        f"{' --quick' if args.quick else ''}`. {count:,} open cases (four kinds, zero to three categories, "
        "risk and child involvement spread, up to 30 days old), pages of "
        f"{PAGE}; `cases.queue` in process (one ranked query and one count: filters, priority order and "
        f"paging in SQL; the ids are ranked alone, then the page's rows read), {repeats} timed repeats "
        "after one warm-up, milliseconds.\n\n"
        + common.md_table(["store", "page", "median ms", "p95 ms"], rows, "llrr")
        + "\n\nThe queue used to load every matching case and rank it in Python (and to open cases "
        "from pending escalations first, under row locks); it now reads one page.\n"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
