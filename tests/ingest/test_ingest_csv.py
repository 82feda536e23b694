"""CSV/TSV reader: columns, labels, ids, bad rows, BOM, delimiter, long segments."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from safeguard.errors import InputError
from safeguard.ingest import MAX_TEXT_CHARS, BadInputReport, TextRecord, read_csv_records


def write(tmp_path: Path, body: bytes | str, name: str = "segments.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(body.encode("utf-8") if isinstance(body, str) else body)
    return path


def only_error(path: Path, **kwargs: object) -> InputError:
    kwargs.setdefault("text_column", "text")
    with pytest.raises(InputError) as info:
        list(read_csv_records(path, **kwargs))  # type: ignore[arg-type]
    return info.value


def test_reads_text_id_and_label(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "id,text,label\r\n"
        's1,"hi, how was school?",0\r\n'
        's2,"add me on snap\r\nand don\'t tell your mum",1\r\n'
        "s3,plain,true\r\n"
        "s4,plain,FALSE\r\n"
        "s5,x,1.0\r\n"
        "s6,y, 0.0 \r\n",
    )
    got = list(read_csv_records(path, text_column="text", id_column="id", label_column="label"))
    assert got[:2] == [
        TextRecord(id="s1", text="hi, how was school?", label=0, line=2),
        TextRecord(id="s2", text="add me on snap\r\nand don't tell your mum", label=1, line=3),
    ]
    assert [(r.id, r.label, r.line) for r in got[2:]] == [
        ("s3", 1, 5), ("s4", 0, 6), ("s5", 1, 7), ("s6", 0, 8),
    ]


def test_id_defaults_to_row_number_and_label_is_optional(tmp_path: Path) -> None:
    path = write(tmp_path, "text\nfirst\n\nsecond\n")
    got = list(read_csv_records(str(path), text_column="text"))
    assert got == [TextRecord("1", "first", None, 2), TextRecord("2", "second", None, 4)]


def test_utf8_bom_header(tmp_path: Path) -> None:
    path = write(tmp_path, b"\xef\xbb\xbftext,label\nhello,0\n")
    [got] = list(read_csv_records(path, text_column="text", label_column="label"))
    assert (got.text, got.label) == ("hello", 0)


def test_tsv_delimiter(tmp_path: Path) -> None:
    path = write(tmp_path, "id\ttext\tlabel\na\thello, there\t1\n", "data.tsv")
    [got] = list(read_csv_records(path, text_column="text", id_column="id",
                                  label_column="label"))
    assert (got.id, got.text, got.label) == ("a", "hello, there", 1)


def test_sniffed_delimiter_without_extension(tmp_path: Path) -> None:
    path = write(tmp_path, "id;text\na;hello\n", "data.txt")
    [got] = list(read_csv_records(path, text_column="text", id_column="id"))
    assert (got.id, got.text) == ("a", "hello")


def test_missing_column_lists_available_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "id,body,label\n1,x,0\n")
    error = only_error(path, text_column="text")
    assert (error.path, error.line, error.field) == (str(path), 1, "text")
    assert "available columns: 'id', 'body', 'label'" in error.reason
    assert str(error).startswith(f"{path}, line 1, field 'text': column 'text' not found")
    error = only_error(path, text_column="body", label_column="is_grooming")
    assert error.field == "is_grooming"
    # a missing column is fatal even with skip_bad: every row would be bad
    with pytest.raises(InputError):
        list(read_csv_records(path, text_column="nope", skip_bad=True, report=BadInputReport()))


def test_bad_label_names_row_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "text,label\nfine,0\nfine,maybe\nfine,1\n")
    error = only_error(path, label_column="label")
    assert (error.line, error.field) == (3, "label")
    assert "'maybe'" in error.reason
    report = BadInputReport()
    got = list(read_csv_records(path, text_column="text", label_column="label",
                                skip_bad=True, report=report))
    assert [r.id for r in got] == ["1", "3"]  # row numbers stay stable after a skipped row
    assert report.skipped == 1 and f"{path}, line 3, field 'label'" in report.reasons[0]


def test_empty_label_and_id_are_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "id,text,label\na,x,\n")
    assert only_error(path, label_column="label").field == "label"
    path = write(tmp_path, "id,text\n ,x\n", "noid.csv")
    error = only_error(path, id_column="id")
    assert (error.line, error.field, error.reason) == (2, "id", "is empty")


def test_short_and_long_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "id,text,label\na,x,0\nb\nc,y,1,extra\nd,z,1,,\n")
    report = BadInputReport()
    got = list(read_csv_records(path, text_column="text", id_column="id",
                                label_column="label", skip_bad=True, report=report))
    assert [r.id for r in got] == ["a", "d"]  # trailing empty fields are tolerated
    assert report.skipped == 2
    assert report.reasons[0].startswith(f"{path}, line 3, field 'text': row has 1 fields")
    assert report.reasons[1].startswith(f"{path}, line 4: row has 4 fields")


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, b'text,label\nok,0\n"multi\nline caf\xe9",1\nlast,0\n')
    error = only_error(path, label_column="label")
    assert (error.line, error.field) == (4, None) and "invalid UTF-8" in error.reason
    report = BadInputReport()
    got = list(read_csv_records(path, text_column="text", label_column="label",
                                skip_bad=True, report=report))
    assert [r.text for r in got] == ["ok", "last"]
    assert report.skipped == 1 and f"{path}, line 4: invalid UTF-8" in report.reasons[0]


def test_malformed_quoting(tmp_path: Path) -> None:
    path = write(tmp_path, 'text,label\n"open"x,0\nfine,1\n"never closed,1\n')
    error = only_error(path)
    assert error.line == 2 and "malformed CSV" in error.reason
    report = BadInputReport()
    got = list(read_csv_records(path, text_column="text", skip_bad=True, report=report))
    assert [r.text for r in got] == ["fine"]
    assert report.skipped == 2
    assert "line 2" in report.reasons[0] and "line 4" in report.reasons[1]


def test_nul_bytes_are_kept(tmp_path: Path) -> None:
    path = write(tmp_path, b"text\na\x00b\n")
    assert [r.text for r in read_csv_records(path, text_column="text")] == ["a\x00b"]


def test_long_segment_loads_and_over_limit_is_error(tmp_path: Path) -> None:
    at_limit = "w" * MAX_TEXT_CHARS
    ten_mb = 10 * 1024 * 1024
    path = write(tmp_path, f'text,label\n"{at_limit}",1\n{"x" * ten_mb},0\nshort,0\n')
    error = only_error(path, label_column="label")
    assert (error.line, error.field) == (3, "text")
    assert error.reason == f"text is {ten_mb} characters; the limit is 1000000"
    report = BadInputReport()
    got = list(read_csv_records(path, text_column="text", label_column="label",
                                skip_bad=True, report=report))
    assert [len(r.text) for r in got] == [MAX_TEXT_CHARS, 5]
    assert report.skipped == 1


def test_empty_and_header_only_files(tmp_path: Path) -> None:
    assert list(read_csv_records(write(tmp_path, b""), text_column="text")) == []
    assert list(read_csv_records(write(tmp_path, "text\n", "h.csv"), text_column="text")) == []


def test_duplicate_column_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "text,text\na,b\n")
    error = only_error(path)
    assert (error.line, error.field) == (1, "text") and "more than once" in error.reason


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"text,label\nhi,1\nho,x\n")))
    report = BadInputReport()
    got = list(read_csv_records("-", text_column="text", label_column="label",
                                skip_bad=True, report=report))
    assert [r.text for r in got] == ["hi"]
    assert report.reasons[0].startswith("<stdin>, line 3, field 'label'")


def test_skip_bad_needs_a_report(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="BadInputReport"):
        read_csv_records(tmp_path / "x.csv", text_column="text", skip_bad=True)


def test_field_over_the_csv_field_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import csv

    import safeguard.ingest.csv_records as csv_records

    old = csv.field_size_limit()
    monkeypatch.setattr(csv_records, "CSV_FIELD_LIMIT", 100)
    csv.field_size_limit(100)
    try:
        path = write(tmp_path, f'text\nshort\n"{"z" * 500}"\nafter\n')
        error = only_error(path)
        assert error.line == 3 and "longer than 100 characters" in error.reason
        report = BadInputReport()
        got = list(read_csv_records(path, text_column="text", skip_bad=True, report=report))
        assert [r.text for r in got] == ["short", "after"] and report.skipped == 1
    finally:
        csv.field_size_limit(old)
