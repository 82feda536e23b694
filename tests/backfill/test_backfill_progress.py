"""Back-fill progress: ``on_progress`` gets rising counts (messages locally, tasks on Spark)."""

from __future__ import annotations

import shutil
from itertools import pairwise
from pathlib import Path

import pyarrow as pa
import pytest

from safeguard.backfill import PROGRESS_UNITS, BackfillOptions, run_backfill
from safeguard.backfill.score import CONVERSATION_SCHEMA, DetectorSpec, score_batches
from safeguard.backfill.synth import generate_archive


def _is_rising(counts: list[int]) -> bool:
    return all(a < b for a, b in pairwise(counts))


def test_score_batches_reports_messages_read_after_each_batch() -> None:
    rows = {
        "conversation_id": [f"c{i // 4}" for i in range(10)],
        "message_id": [str(i) for i in range(10)],
        "sender_id": ["a", "b"] * 5,
        "text": ["hi"] * 10,
        "sent_at": [None] * 10,
        "sender_age_band": [None] * 10,
    }
    table = pa.table(rows)
    counts: list[int] = []
    out = list(score_batches(table.to_batches(max_chunksize=3), DetectorSpec(), counts.append))
    assert counts == [3, 6, 9, 10]
    assert sum(b.num_rows for b in out) == 3 and out[0].schema == CONVERSATION_SCHEMA


def test_local_backfill_counts_every_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from safeguard.backfill import local

    monkeypatch.setattr(local, "SCORE_CHUNK", 250)
    archive = generate_archive(tmp_path / "in", 1000, files=2, fmt="jsonl", risky_share=0.2)
    counts: list[int] = []
    summary = run_backfill(archive, tmp_path / "out", engine="local", on_progress=counts.append)
    assert summary.messages == 1000
    assert _is_rising(counts) and counts[-1] == 1000 and len(counts) >= 4
    assert PROGRESS_UNITS["local"] == "messages"


def test_spark_backfill_reports_completed_tasks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("java") is None:
        pytest.fail("java not found: run scripts/system-deps.sh (openjdk-17-jre-headless)")
    from safeguard.backfill import spark

    monkeypatch.setattr(spark, "WATCH_SECONDS", 0.05)
    archive = generate_archive(tmp_path / "in", 400, files=2, risky_share=0.2)
    counts: list[int] = []
    options = BackfillOptions(shuffle_partitions=2)
    summary = run_backfill(
        archive, tmp_path / "out", engine="spark", options=options, on_progress=counts.append
    )
    assert summary.messages == 400
    # Scoring, writing and aggregating run several stages of 2+ tasks each; the last poll is after the job.
    assert counts and counts[-1] >= 4
    assert all(a <= b for a, b in pairwise(counts))
