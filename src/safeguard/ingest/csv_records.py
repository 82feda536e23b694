"""Streaming CSV/TSV reader: one row is one conversation or segment, optionally labelled."""

from __future__ import annotations

import csv
import itertools
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from safeguard.errors import InputError
from safeguard.ingest.formats import (
    MAX_LINE_BYTES,
    MAX_TEXT_CHARS,
    UTF8_BOM,
    check_skip_args,
    display_name,
    iter_byte_lines,
    open_binary,
    short_repr,
    too_long_reason,
)
from safeguard.ingest.records import BadInputReport, TextRecord

# Fields up to this many characters load, so a too-long text is reported with its length.
CSV_FIELD_LIMIT = 16 * MAX_TEXT_CHARS

_LABELS = {"1": 1, "1.0": 1, "true": 1, "0": 0, "0.0": 0, "false": 0}
_TAB_SUFFIXES = (".tsv", ".tab")


def _raise_field_limit() -> None:
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)


def read_csv_records(
    path: str | Path,
    *,
    text_column: str,
    id_column: str | None = None,
    label_column: str | None = None,
    skip_bad: bool = False,
    report: BadInputReport | None = None,
) -> Iterator[TextRecord]:
    """Stream text records from a CSV/TSV file with a header row ("-" for stdin).

    ``id`` defaults to the 1-based data row number; ``label`` is parsed from 0/1, 0.0/1.0
    or true/false. A missing column is always an InputError (line 1); a bad row raises
    InputError naming the file, the line the row starts on and the column, or with
    ``skip_bad`` is added to ``report`` and skipped.
    """
    check_skip_args(skip_bad, report)
    return _read_csv(path, text_column, id_column, label_column, skip_bad, report)


class _Lines:
    """Decoded physical lines for the csv module; bad lines are recorded, not raised."""

    def __init__(self, stream: BinaryIO, name: str) -> None:
        self.bad: deque[tuple[int, str]] = deque()
        self._raw = iter_byte_lines(stream, name)

    def __iter__(self) -> Iterator[str]:
        for lineno, raw in self._raw:
            if raw is None:
                self.bad.append((lineno, f"line is longer than {MAX_LINE_BYTES} bytes"))
                yield "\n"
                continue
            if lineno == 1 and raw.startswith(UTF8_BOM):
                raw = raw[len(UTF8_BOM) :]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                self.bad.append((lineno, f"invalid UTF-8 at byte {exc.start + 1} of the line"))
                yield raw.decode("utf-8", "replace")


def _delimiter(path: str | Path, first_line: str) -> str:
    """Tab for .tsv/.tab files; otherwise the first of , tab ; | found in the header line."""
    if str(path).lower().endswith(_TAB_SUFFIXES):
        return "\t"
    for candidate in (",", "\t", ";", "|"):
        if candidate in first_line:
            return candidate
    return ","


def _read_csv(
    path: str | Path,
    text_column: str,
    id_column: str | None,
    label_column: str | None,
    skip_bad: bool,
    report: BadInputReport | None,
) -> Iterator[TextRecord]:
    _raise_field_limit()
    name = display_name(path)
    with open_binary(path) as stream:
        lines = _Lines(stream, name)
        line_iter = iter(lines)
        first = next(line_iter, None)
        if first is None:
            return  # empty file: no records, not an error by itself
        delimiter = _delimiter(path, first)
        reader = csv.reader(itertools.chain([first], line_iter), delimiter=delimiter, strict=True)

        columns: dict[str, int] | None = None
        header: list[str] = []
        wanted: dict[str, int] = {}
        spec = (text_column, id_column, label_column)
        row_number = 0
        prev_end = 0
        while True:
            start = prev_end + 1
            failure: InputError | None = None
            try:
                row = next(reader)
            except StopIteration:
                row = None
            except csv.Error as exc:
                row = []
                reason = f"malformed CSV: {exc}"
                if "field larger than field limit" in str(exc):
                    reason = (f"a field is longer than {CSV_FIELD_LIMIT} characters "
                              f"(the text limit is {MAX_TEXT_CHARS})")
                failure = InputError(reason, path=name, line=start)
            end = reader.line_num
            if failure is not None and end == prev_end:
                # the csv module made no progress: report once and stop rather than loop
                if not skip_bad or report is None:
                    raise failure
                report.add(failure.describe())
                break
            prev_end = end
            while lines.bad and lines.bad[0][0] <= end:
                bad_line, reason = lines.bad.popleft()
                if failure is None:
                    failure = InputError(reason, path=name, line=max(bad_line, start))
            if row is None and failure is None:
                break
            if columns is None:
                # the header row: any problem here is fatal
                if failure is not None:
                    raise failure
                if not row:
                    continue  # blank lines before the header
                header = [cell.strip() for cell in row]
                columns = {}
                for index, cell in enumerate(header):
                    columns.setdefault(cell, index)
                wanted = _resolve_columns(
                    columns, header, name, start, text_column, id_column, label_column
                )
                continue
            if row == [] and failure is None:
                continue  # blank line
            row_number += 1
            record = None
            try:
                if failure is not None:
                    raise failure
                if row is None:  # pragma: no cover - a failure is always set then
                    continue
                record = _make_record(row, header, wanted, row_number, name, start, spec)
            except InputError as error:
                if not skip_bad or report is None:
                    raise
                report.add(error.describe())
            if record is not None:
                yield record
            if row is None:
                break


def _resolve_columns(
    columns: dict[str, int],
    header: list[str],
    name: str,
    line: int,
    text_column: str,
    id_column: str | None,
    label_column: str | None,
) -> dict[str, int]:
    wanted: dict[str, int] = {}
    for column in (text_column, id_column, label_column):
        if column is None:
            continue
        key = column.strip()
        if key not in columns:
            available = ", ".join(repr(c) for c in header) or "none"
            raise InputError(
                f"column {column!r} not found; available columns: {available}",
                path=name,
                line=line,
                field=column,
            )
        if header.count(key) > 1:
            raise InputError(
                f"column {column!r} appears more than once in the header",
                path=name,
                line=line,
                field=column,
            )
        wanted[column] = columns[key]
    return wanted


def _make_record(
    row: list[str],
    header: list[str],
    wanted: dict[str, int],
    row_number: int,
    name: str,
    line: int,
    spec: tuple[str, str | None, str | None],
) -> TextRecord:
    text_column, id_column, label_column = spec

    def error(reason: str, field: str | None = None) -> InputError:
        return InputError(reason, path=name, line=line, field=field)

    if len(row) < len(header):
        missing = [c for c, i in wanted.items() if i >= len(row)]
        raise error(
            f"row has {len(row)} fields; the header has {len(header)}",
            missing[0] if missing else None,
        )
    if len(row) > len(header) and any(cell.strip() for cell in row[len(header) :]):
        raise error(
            f"row has {len(row)} fields; the header has {len(header)} "
            "(an unquoted delimiter in a field?)"
        )

    text = row[wanted[text_column]]
    if len(text) > MAX_TEXT_CHARS:
        raise error(too_long_reason(len(text)), text_column)

    if id_column is not None:
        record_id = row[wanted[id_column]].strip()
        if not record_id:
            raise error("is empty", id_column)
    else:
        record_id = str(row_number)

    label = None
    if label_column is not None:
        raw_label = row[wanted[label_column]]
        label = _LABELS.get(raw_label.strip().lower())
        if label is None:
            raise error(
                f"label must be 0 or 1 (or true/false), got {short_repr(raw_label)}",
                label_column,
            )
    return TextRecord(id=record_id, text=text, label=label, line=line)
