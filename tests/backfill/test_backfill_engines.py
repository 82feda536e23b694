"""Back-fill: the local and Spark engines write the same risk tables, matching `scan`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from typer.testing import CliRunner

from safeguard.backfill import BackfillOptions, run_backfill
from safeguard.backfill.synth import generate_archive
from safeguard.cli import app
from safeguard.ingest import read_jsonl
from safeguard.text import load_detector


def _rows(path: Path, key: str) -> list[dict]:
    rows = ds.dataset(str(path), format="parquet").to_table().sort_by(key).to_pylist()
    for row in rows:
        if "authors" in row:
            row["authors"] = sorted(row["authors"], key=lambda a: a["sender_id"])
    return rows


def test_local_engine_matches_the_streaming_detector(tmp_path: Path) -> None:
    archive = generate_archive(tmp_path / "in", 1200, files=3, fmt="jsonl", risky_share=0.3)
    summary = run_backfill(archive, tmp_path / "out", engine="local")
    assert summary.messages == 1200 and summary.conversations == 60
    assert summary.flagged > 0
    detector = load_detector(embeddings=False)
    expected = {}
    for file in sorted(archive.glob("*.jsonl")):
        for message in read_jsonl(file):
            conversation_id = message.conversation_id
            state = expected.setdefault(conversation_id, detector.new_conversation(conversation_id))
            state.add_message(message)
    rows = {r["conversation_id"]: r for r in _rows(tmp_path / "out" / "conversations", "conversation_id")}
    assert set(rows) == set(expected)
    for conversation_id, state in expected.items():
        row = rows[conversation_id]
        assert row["score"] == pytest.approx(state.risk)
        assert row["flagged"] == state.flagged
        assert row["stage"] == state.stage
        assert row["messages"] == state.message_count
    accounts = _rows(tmp_path / "out" / "accounts", "sender_id")
    assert sum(a["messages"] for a in accounts) == 1200
    flagged_groomers = {r["likely_groomer"] for r in rows.values() if r["flagged"]}
    assert flagged_groomers and all(g.startswith("u") for g in flagged_groomers)


def test_spark_engine_writes_what_the_local_engine_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("java") is None:
        pytest.fail("java not found: run scripts/system-deps.sh (openjdk-17-jre-headless)")
    archive = generate_archive(tmp_path / "in", 2000, files=2, risky_share=0.2)
    local = run_backfill(archive, tmp_path / "local", engine="local")
    result = CliRunner().invoke(
        app,
        ["backfill", str(archive), str(tmp_path / "spark"), "--engine", "spark", "--shuffle-partitions", "2"],
    )
    assert result.exit_code == 0, result.output
    assert f"scanned 2000 messages in {local.conversations} conversations" in result.output
    # Without pandas (pyspark's mapInArrow needs it) the RDD path runs the same function.
    from safeguard.backfill import spark

    monkeypatch.setattr(spark, "_has_pandas", lambda: False)
    options = BackfillOptions(shuffle_partitions=2)
    rdd = run_backfill(archive, tmp_path / "spark-rdd", engine="spark", options=options)
    assert rdd.messages == 2000
    for output in ("spark", "spark-rdd"):
        for table, key in (("conversations", "conversation_id"), ("accounts", "sender_id")):
            spark_rows = _rows(tmp_path / output / table, key)
            local_rows = _rows(tmp_path / "local" / table, key)
            assert len(spark_rows) == len(local_rows)
            for got, want in zip(spark_rows, local_rows, strict=True):
                assert got.keys() == want.keys()
                for name, value in want.items():
                    if isinstance(value, float):
                        assert got[name] == pytest.approx(value)
                    else:
                        assert got[name] == value


def test_backfill_reports_a_missing_input(tmp_path: Path) -> None:
    args = ["backfill", str(tmp_path / "absent"), str(tmp_path / "out"), "--engine", "local"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    assert isinstance(result.exception, Exception) and "no such file" in str(result.exception)


def test_options_carry_the_fast_path_by_default() -> None:
    assert BackfillOptions().detector.embeddings is False
