"""Format detection, dispatch, and the streaming memory check on a 100k-message JSONL file."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from safeguard.errors import InputError
from safeguard.ingest import BadInputReport, detect_format, read_jsonl, read_messages


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.jsonl", "jsonl"),
        ("a.NDJSON", "jsonl"),
        ("a.json", "jsonl"),
        ("a.xml", "pan12"),
        ("a.csv", "csv"),
        ("a.tsv", "csv"),
    ],
)
def test_detect_by_extension(tmp_path: Path, name: str, fmt: str) -> None:
    # the extension decides without reading: the file need not exist
    assert detect_format(tmp_path / name) == fmt


@pytest.mark.parametrize(
    ("body", "fmt"),
    [
        (b'{"conversation_id": "c"}\n', "jsonl"),
        (b"\xef\xbb\xbf  \n{}", "jsonl"),
        (b'<?xml version="1.0"?><conversations/>', "pan12"),
        (b"\n  <conversations>", "pan12"),
        (b"id,text,label\n1,hi,0\n", "csv"),
        (b"id\ttext\n", "csv"),
    ],
)
def test_detect_by_sniffing(tmp_path: Path, body: bytes, fmt: str) -> None:
    path = tmp_path / "upload.dat"
    path.write_bytes(body)
    assert detect_format(str(path)) == fmt


@pytest.mark.parametrize("body", [b"", b"   \n", b"just words"])
def test_undetectable_is_input_error(tmp_path: Path, body: bytes) -> None:
    path = tmp_path / "mystery"
    path.write_bytes(body)
    with pytest.raises(InputError, match="cannot detect the input format") as info:
        detect_format(path)
    assert info.value.path == str(path)


def test_detect_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot open file"):
        detect_format(tmp_path / "missing")


def test_read_messages_dispatch(tmp_path: Path) -> None:
    jsonl = tmp_path / "m.jsonl"
    jsonl.write_text(
        json.dumps({"conversation_id": "c", "message_id": "1", "sender_id": "s", "text": "hi"})
        + "\n"
    )
    xml = tmp_path / "m.xml"
    xml.write_text(
        '<conversations><conversation id="c"><message line="1"><author>s</author>'
        "<text>hi</text></message></conversation></conversations>"
    )
    [a] = list(read_messages(jsonl, "jsonl"))
    [b] = list(read_messages(xml, "pan12"))
    [c] = list(read_messages(xml, "auto"))
    assert (a.text, b.text, c.message_id) == ("hi", "hi", "c:1")
    with pytest.raises(InputError, match="not messages"):
        read_messages(tmp_path / "x.csv", "csv")
    with pytest.raises(InputError, match="unknown message format 'yaml'"):
        read_messages(jsonl, "yaml")
    report = BadInputReport()
    assert list(read_messages(jsonl, "jsonl", skip_bad=True, report=report))
    with pytest.raises(ValueError, match="BadInputReport"):
        read_messages(jsonl, "jsonl", skip_bad=True)


@pytest.mark.slow
def test_jsonl_streams_100k_messages_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    count = 100_000
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(count):
            record = {
                "conversation_id": f"conv-{i // 50}",
                "message_id": f"msg-{i}",
                "sender_id": f"user-{i % 97}",
                "sent_at": f"2024-05-01T10:{(i // 60) % 60:02d}:{i % 60:02d}Z",
                "text": f"message {i}: what school do you go to? " + "filler text " * 8,
            }
            handle.write(json.dumps(record) + "\n")
    size = path.stat().st_size
    tracemalloc.start()
    try:
        seen = 0
        for message in read_jsonl(path):
            seen += 1
            last = message
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == count and last.message_id == f"msg-{count - 1}"
    assert size > 20_000_000
    assert peak < 1_000_000, f"peak {peak} bytes while reading a {size}-byte file"


def test_detect_format_of_stdin_peeks_without_consuming(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    line = json.dumps({"conversation_id": "c", "message_id": "1", "sender_id": "s", "text": "x"})
    stdin = io.TextIOWrapper(io.BufferedReader(io.BytesIO((line + "\n").encode())))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert detect_format("-") == "jsonl"
    assert [m.text for m in read_messages("-", "jsonl")] == ["x"]
