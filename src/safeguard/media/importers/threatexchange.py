"""Lists in the ``threatexchange`` package's formats.

- ``te-file``: its local-file exchange (``LocalFileSignalExchangeAPI``): one
  ``<signal_type> <signal>`` per line, or bare signals with ``signal_type=``.
- ``te-csv``: ``threatexchange dataset -P --csv`` output, columns
  ``signal_type,signal_str,collab,category,tags``; the collaboration becomes
  the source, the tags (else the opinion category) the category, and signals
  whose opinion is NEGATIVE_CLASS (marked as not a match) are skipped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from safeguard.errors import InputError
from safeguard.media.importers import ImportRow, RowError, read_text


def read_signal_file(
    path: Path, signal_type: str = "", source: str = "", **_options: str
) -> Iterator[ImportRow | RowError]:
    """Rows of a threatexchange local signal file."""
    for number, raw in enumerate(read_text(path).splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        kind, value = signal_type, line
        if not kind:
            kind, _, value = line.partition(" ")
            if not value.strip():
                yield RowError(f"line {number}", "expected '<signal_type> <signal>'")
                continue
        yield ImportRow(f"line {number}", kind, value.strip(), source=source)


def read_dataset_csv(path: Path, source: str = "", **_options: str) -> Iterator[ImportRow | RowError]:
    """Rows of ``threatexchange dataset --csv`` output."""
    reader = csv.DictReader(io.StringIO(read_text(path), newline=""), strict=True)
    needed = {"signal_type", "signal_str"}
    if reader.fieldnames is None or not needed <= set(reader.fieldnames):
        raise InputError("expected a header with signal_type,signal_str", path=str(path), line=1)
    try:
        for record in reader:
            where = f"line {reader.line_num}"
            if None in record:
                yield RowError(where, "more fields than the header")
                continue
            opinion = (record.get("category") or "").strip()
            if opinion.upper() == "NEGATIVE_CLASS":
                yield RowError(where, "opinion is NEGATIVE_CLASS (marked not a match)", True)
                continue
            tags = (record.get("tags") or "").strip()
            yield ImportRow(
                where,
                (record.get("signal_type") or "").strip(),
                (record.get("signal_str") or "").strip(),
                category=tags or opinion.lower(),
                source=(record.get("collab") or "").strip() or source,
            )
    except csv.Error as exc:
        raise InputError(f"malformed CSV ({exc})", path=str(path), line=reader.line_num) from None
