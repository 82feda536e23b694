"""`safeguard publish` validates each line as the worker will and reports rejects by line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
from stream_support import message
from typer.testing import CliRunner

from safeguard.cli import app
from safeguard.stream import StreamLayout, decode_event, encode_message
from safeguard.stream.events import InvalidEvent, message_fields_from_line


def _body(i: int) -> dict:
    return json.loads(encode_message(message(i))["data"])


def _write(tmp_path: Path, lines: list[str]) -> Path:
    source = tmp_path / "events.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return source


def _mixed(tmp_path: Path) -> Path:
    missing_sender = _body(2)
    del missing_sender["sender_id"]
    return _write(
        tmp_path,
        [json.dumps(_body(1)), "{not json", json.dumps(missing_sender), "", json.dumps(_body(3)), "[1, 2]"],
    )


def test_shared_validator_agrees_with_the_worker() -> None:
    fields = message_fields_from_line(json.dumps(_body(4)))
    assert decode_event(fields).message == message(4)
    bad = _body(4)
    bad["recipient_ids"] = "everyone"
    with pytest.raises(InvalidEvent) as caught:
        message_fields_from_line(json.dumps(bad))
    assert caught.value.field == "recipient_ids"
    with pytest.raises(InvalidEvent) as worker_side:
        decode_event(encode_message(bad))
    assert str(worker_side.value) == str(caught.value)


def test_publish_skips_invalid_lines_and_reports_them(redis_url: str, tmp_path: Path) -> None:
    source = _mixed(tmp_path)
    result = CliRunner().invoke(
        app, ["publish", str(source), "--stream", redis_url, "--prefix", "p1", "--partitions", "2"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == "published 2, rejected 3"
    assert f"{source}:2: field 'body'" in result.stderr
    assert f"{source}:3: field 'sender_id'" in result.stderr
    assert f"{source}:6: field 'body'" in result.stderr
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    assert sum(client.xlen(s) for s in StreamLayout("p1", partitions=2).streams()) == 2


def test_publish_strict_publishes_nothing(redis_url: str, tmp_path: Path) -> None:
    source = _mixed(tmp_path)
    result = CliRunner().invoke(
        app,
        ["publish", str(source), "--stream", redis_url, "--prefix", "p2", "--partitions", "2", "--strict"],
    )
    assert result.exit_code != 0
    assert f"{source}:3: field 'sender_id'" in result.stderr
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    assert sum(client.xlen(s) for s in StreamLayout("p2", partitions=2).streams()) == 0
