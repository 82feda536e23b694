"""JSONL reader: good input, every bad-input case, skip_bad counting, stdin."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from safeguard.errors import InputError
from safeguard.ingest import MAX_TEXT_CHARS, BadInputReport, Message, read_jsonl


def msg(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "conversation_id": "c1",
        "message_id": "m1",
        "sender_id": "u1",
        "sent_at": "2024-05-01T10:00:00Z",
        "text": "how was school today?",
    }
    base.update(overrides)
    return base


def write_lines(tmp_path: Path, lines: list[str | bytes], name: str = "data.jsonl") -> Path:
    path = tmp_path / name
    with open(path, "wb") as handle:
        for line in lines:
            handle.write(line if isinstance(line, bytes) else line.encode("utf-8"))
            handle.write(b"\n")
    return path


def only_error(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        list(read_jsonl(path))
    return info.value


def test_reads_messages_with_all_fields(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path,
        [
            json.dumps(msg(sender_age_band="Adult")),
            json.dumps(msg(message_id="m2", sender_id="u2", text="add me on snap",
                           sender_age_band="teen")),
        ],
    )
    got = list(read_jsonl(path))
    assert got == [
        Message("c1", "m1", "u1", "how was school today?", "2024-05-01T10:00:00Z", "adult", 1),
        Message("c1", "m2", "u2", "add me on snap", "2024-05-01T10:00:00Z", "teen", 2),
    ]


def test_accepts_str_path_int_ids_numeric_and_null_sent_at(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path,
        [
            json.dumps(msg(conversation_id=7, message_id=8, sender_id=9, sent_at=1714557600)),
            json.dumps(msg(sent_at=None, sender_age_band=None)),
            json.dumps({k: v for k, v in msg().items() if k != "sent_at"}),
            json.dumps(msg(sent_at=1714557600.5)),
        ],
    )
    got = list(read_jsonl(str(path)))
    assert (got[0].conversation_id, got[0].message_id, got[0].sender_id) == ("7", "8", "9")
    assert got[0].sent_at == "1714557600"
    assert got[1].sent_at is None and got[1].sender_age_band is None
    assert got[2].sent_at is None
    assert got[3].sent_at == "1714557600.5"


def test_blank_lines_crlf_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "crlf.jsonl"
    body = "\r\n".join(["", json.dumps(msg()), "   ", json.dumps(msg(message_id="m2")), ""])
    path.write_bytes(b"\xef\xbb\xbf" + body.encode())
    got = list(read_jsonl(path))
    assert [m.message_id for m in got] == ["m1", "m2"]
    assert [m.line for m in got] == [2, 4]


def test_empty_file_yields_nothing(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    assert list(read_jsonl(path)) == []
    report = BadInputReport()
    assert list(read_jsonl(path, skip_bad=True, report=report)) == []
    assert report.skipped == 0


def test_missing_file_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.jsonl: cannot open file"):
        list(read_jsonl(tmp_path / "nope.jsonl"))


@pytest.mark.parametrize(
    ("line", "field", "reason"),
    [
        ("{not json", None, "not valid JSON"),
        ('{"conversation_id": "c1",', None, "not valid JSON"),
        ("[1, 2, 3]", None, "expected a JSON object, got array"),
        ('"just a string"', None, "expected a JSON object, got string"),
        (json.dumps({k: v for k, v in msg().items() if k != "text"}), "text", "missing"),
        (json.dumps({k: v for k, v in msg().items() if k != "sender_id"}), "sender_id",
         "missing"),
        (json.dumps({k: v for k, v in msg().items() if k != "conversation_id"}),
         "conversation_id", "missing"),
        (json.dumps({k: v for k, v in msg().items() if k != "message_id"}), "message_id",
         "missing"),
        (json.dumps(msg(text=None)), "text", "expected a string, got null"),
        (json.dumps(msg(text=12)), "text", "expected a string, got number"),
        (json.dumps(msg(sender_id=["u"])), "sender_id", "expected a string or integer"),
        (json.dumps(msg(conversation_id=True)), "conversation_id", "got boolean"),
        (json.dumps(msg(message_id=1.5)), "message_id", "got number"),
        (json.dumps(msg(sender_id="  ")), "sender_id", "is empty"),
        (json.dumps(msg(sent_at={"t": 1})), "sent_at", "got object"),
        (json.dumps(msg(sent_at=True)), "sent_at", "got boolean"),
        ('{"conversation_id":"c","message_id":"m","sender_id":"s","text":"x","sent_at":1e400}',
         "sent_at", "finite"),
        ('{"conversation_id":"c","message_id":"m","sender_id":"s","text":"x","sent_at":NaN}',
         None, "not valid JSON"),
        (json.dumps(msg(sender_age_band="toddler")), "sender_age_band", "must be one of"),
        (json.dumps(msg(sender_age_band=3)), "sender_age_band", "got number"),
        ('{"conversation_id":"c","message_id":"m","sender_id":"s","text":"\\ud800"}', "text",
         "surrogate"),
        ("[" * 100_000, None, "not valid JSON"),
    ],
)
def test_bad_line_names_file_line_and_field(
    tmp_path: Path, line: str, field: str | None, reason: str
) -> None:
    path = write_lines(tmp_path, [json.dumps(msg()), "", line])
    error = only_error(path)
    assert error.path == str(path)
    assert error.line == 3
    assert error.field == field
    assert reason in error.reason
    text = str(error)
    assert text.startswith(f"{path}, line 3")
    if field is not None:
        assert f"field '{field}'" in text


def test_invalid_utf8_is_reported_with_line(tmp_path: Path) -> None:
    good = json.dumps(msg()).encode()
    bad = json.dumps(msg(text="caf\u00e9"), ensure_ascii=False).encode()
    bad = bad.replace("é".encode(), b"\xe9")
    path = write_lines(tmp_path, [good, good, bad])
    error = only_error(path)
    assert (error.line, error.field) == (3, None)
    assert "invalid UTF-8" in error.reason and f"{path}, line 3" in str(error)


def test_text_over_limit_is_error_with_length(tmp_path: Path) -> None:
    path = write_lines(tmp_path, [json.dumps(msg(text="a" * (MAX_TEXT_CHARS + 1)))])
    error = only_error(path)
    assert error.field == "text" and error.line == 1
    assert error.reason == f"text is {MAX_TEXT_CHARS + 1} characters; the limit is 1000000"


def test_text_at_limit_is_accepted(tmp_path: Path) -> None:
    path = write_lines(tmp_path, [json.dumps(msg(text="b" * MAX_TEXT_CHARS))])
    [got] = list(read_jsonl(path))
    assert len(got.text) == MAX_TEXT_CHARS


def test_ten_megabyte_message(tmp_path: Path) -> None:
    ten_mb = 10 * 1024 * 1024
    path = write_lines(
        tmp_path, [json.dumps(msg()), json.dumps(msg(message_id="big", text="x" * ten_mb)),
                   json.dumps(msg(message_id="m3"))]
    )
    error = only_error(path)
    assert (error.line, error.field) == (2, "text")
    assert f"text is {ten_mb} characters" in error.reason
    report = BadInputReport()
    got = list(read_jsonl(path, skip_bad=True, report=report))
    assert [m.message_id for m in got] == ["m1", "m3"]
    assert report.skipped == 1 and "line 2, field 'text'" in report.reasons[0]


def test_line_over_byte_limit_is_read_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import safeguard.ingest.formats as formats

    monkeypatch.setattr(formats.iter_byte_lines, "__defaults__", (1000,))
    path = write_lines(
        tmp_path, [json.dumps(msg()), "y" * 5000, json.dumps(msg(message_id="m3"))]
    )
    report = BadInputReport()
    got = list(read_jsonl(path, skip_bad=True, report=report))
    assert [m.line for m in got] == [1, 3]
    assert report.skipped == 1 and "line 2: line is longer than" in report.reasons[0]


def test_skip_bad_counts_every_bad_line_and_keeps_good_ones(tmp_path: Path) -> None:
    lines: list[str | bytes] = [
        json.dumps(msg(message_id="m1")),
        "{broken",
        json.dumps({"conversation_id": "c1"}),
        b"\xff\xfe\x00",
        "",
        json.dumps(msg(message_id="m5", text="don't tell your mum")),
        "42",
    ]
    path = write_lines(tmp_path, lines)
    report = BadInputReport()
    got = list(read_jsonl(path, skip_bad=True, report=report))
    assert [m.message_id for m in got] == ["m1", "m5"]
    assert report.skipped == 4
    assert [r.split(":")[0] for r in report.reasons] == [
        f"{path}, line 2",
        f"{path}, line 3, field 'message_id'",
        f"{path}, line 4",
        f"{path}, line 7",
    ]


def test_only_bad_lines_under_skip_bad_yields_nothing_but_reports(tmp_path: Path) -> None:
    path = write_lines(tmp_path, ["nope", "{}", "[]"])
    report = BadInputReport()
    assert list(read_jsonl(path, skip_bad=True, report=report)) == []
    assert report.skipped == 3


def test_skip_bad_needs_a_report(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="BadInputReport"):
        read_jsonl(tmp_path / "x.jsonl", skip_bad=True)


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    data = (json.dumps(msg()) + "\n" + "{bad\n").encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    report = BadInputReport()
    got = list(read_jsonl("-", skip_bad=True, report=report))
    assert len(got) == 1
    assert report.reasons[0].startswith("<stdin>, line 2: not valid JSON")


def test_pretty_printed_json_array_gets_a_hint(tmp_path: Path) -> None:
    path = write_lines(tmp_path, ["[", json.dumps(msg()) + ",", "]"], name="data.json")
    error = only_error(path)
    assert error.line == 1 and "one JSON object per line" in error.reason
