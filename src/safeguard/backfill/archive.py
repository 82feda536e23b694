"""Finding and reading message archives (Parquet or JSONL, file or directory)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from safeguard.errors import InputError

JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson", ".jsonl.gz", ".json.gz")
INPUT_SCHEMA = pa.schema(
    [
        ("conversation_id", pa.string()),
        ("message_id", pa.string()),
        ("sender_id", pa.string()),
        ("text", pa.string()),
        ("sent_at", pa.string()),
        ("sender_age_band", pa.string()),
    ]
)
INPUT_DDL = (
    "conversation_id string, message_id string, sender_id string, text string, "
    "sent_at string, sender_age_band string"
)


def detect_format(path: Path, requested: str = "auto") -> str:
    """``parquet`` or ``jsonl`` for an archive file or directory."""
    if requested in ("parquet", "jsonl"):
        return requested
    if requested != "auto":
        raise InputError("must be parquet, jsonl or auto", field="--format")
    if not path.exists():
        raise InputError("no such file or directory", path=str(path))
    if path.is_file():
        if path.name.endswith(".parquet"):
            return "parquet"
        if path.name.endswith(JSONL_SUFFIXES):
            return "jsonl"
        raise InputError(
            "cannot tell the format: name it .parquet or .jsonl, or pass --format", path=str(path)
        )
    if any(path.rglob("*.parquet")):
        return "parquet"
    if jsonl_files(path):
        return "jsonl"
    raise InputError("no .parquet or .jsonl files in this directory", path=str(path))


def jsonl_files(path: Path) -> list[Path]:
    """The JSONL files of an archive, in name order (archive order)."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(JSONL_SUFFIXES))


def conform(table: pa.Table) -> pa.Table:
    """The input columns as strings, missing optional ones as nulls."""
    for name in ("conversation_id", "message_id", "sender_id", "text"):
        if name not in table.column_names:
            raise InputError(f"archive has no '{name}' column", field=name)
    columns = []
    for field in INPUT_SCHEMA:
        if field.name in table.column_names:
            columns.append(table.column(field.name).cast(pa.string()))
        else:
            columns.append(pa.nulls(table.num_rows, pa.string()))
    return pa.Table.from_arrays(columns, schema=INPUT_SCHEMA)
