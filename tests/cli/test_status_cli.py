"""`safeguard status`: tables and --json from the configured database, and the stream when set."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from safeguard.cli.app import app
from safeguard.config import get_settings
from safeguard.store.db import session_scope

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
from status_support import seed


@pytest.fixture
def seeded(isolated_settings: None, db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", db_url)
    get_settings.cache_clear()
    with session_scope(db_url) as session:
        seed(session)
    return db_url


def test_status_json(seeded: str) -> None:
    result = CliRunner().invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert {k["kind"]: k["open"] for k in body["cases"]} == {"grooming": 3, "report": 1}
    assert body["webhooks"]["failed"] == 1
    assert body["stream"] is None
    assert body["detector_latency"].startswith("n/a")


def test_status_tables(seeded: str) -> None:
    result = CliRunner().invoke(app, ["status"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "Open cases (4" in result.output
    assert "grooming" in result.output
    assert "Stream: not configured ([stream] url)" in result.output
    assert "Detector latency: n/a" in result.output


def test_status_reads_the_stream(seeded: str, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEGUARD_STREAM__URL", redis_url)
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    stream = json.loads(result.output)["stream"]
    assert stream["error"] is None
    assert len(stream["partitions"]) == 8


def test_status_url_needs_a_key(seeded: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAFEGUARD_API_KEY", raising=False)
    result = CliRunner().invoke(app, ["status", "--url", "http://127.0.0.1:9"])
    assert result.exit_code != 0
    assert "admin API key" in str(result.exception)
