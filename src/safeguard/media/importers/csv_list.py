"""Safeguard's CSV bank list: ``hash,signal_type[,category,source,external_id]``.

A header row is optional; with one, columns may come in any order and the
``added_at`` column written by ``bank export`` is accepted (and ignored).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from safeguard.errors import InputError
from safeguard.media.importers import ImportRow, RowError, read_text

COLUMNS = ("hash", "signal_type", "category", "source", "external_id")
_IGNORED = {"added_at", "bank"}


def read(path: Path, **_options: str) -> Iterator[ImportRow | RowError]:
    """Rows of a Safeguard CSV list; bad rows become :class:`RowError` with the line."""
    text = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    columns: tuple[str, ...] = COLUMNS
    first = True
    try:
        for record in reader:
            line = reader.line_num
            if not record or all(not f.strip() for f in record) or record[0].startswith("#"):
                continue
            if first:
                first = False
                names = tuple(f.strip().lower() for f in record)
                if names and names[0] in ("hash", "signal_type", "value") and "hash" in names:
                    unknown = [n for n in names if n not in COLUMNS and n not in _IGNORED]
                    if unknown:
                        raise InputError(
                            f"unknown column(s) {', '.join(unknown)}; expected {', '.join(COLUMNS)}",
                            path=str(path),
                            line=line,
                        )
                    if "signal_type" not in names:
                        raise InputError("header lacks 'signal_type'", path=str(path), line=line)
                    columns = names
                    continue
            needed = max(columns.index("hash"), columns.index("signal_type")) + 1
            if not needed <= len(record) <= len(columns):
                yield RowError(
                    f"line {line}",
                    f"expected {needed}-{len(columns)} fields ({', '.join(columns)}), got {len(record)}",
                )
                continue
            fields = dict(zip(columns, (f.strip() for f in record), strict=False))
            yield ImportRow(
                where=f"line {line}",
                signal_type=fields.get("signal_type", ""),
                value=fields.get("hash", ""),
                category=fields.get("category", ""),
                source=fields.get("source", ""),
                external_id=fields.get("external_id", ""),
            )
    except csv.Error as exc:
        raise InputError(f"malformed CSV ({exc})", path=str(path), line=reader.line_num) from None
