"""The local engine: the whole job in this process with pyarrow (small archives).

The archive is read into one Arrow table (only the six input columns), sorted
by conversation, ``sent_at`` and archive order, and fed to ``score_batches``;
memory is about the archive's uncompressed size.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from safeguard.backfill.archive import INPUT_SCHEMA, conform, detect_format, jsonl_files
from safeguard.backfill.score import (
    CONVERSATION_SCHEMA,
    ORDER_COLUMN,
    SORT_COLUMN,
    DetectorSpec,
    score_batches,
)
from safeguard.ingest import read_jsonl

SCORE_CHUNK = 8192

ACCOUNT_SCHEMA = pa.schema(
    [
        ("sender_id", pa.string()),
        ("max_score", pa.float64()),
        ("mean_score", pa.float64()),
        ("conversations", pa.int64()),
        ("conversations_flagged", pa.int64()),
        ("likely_groomer_in", pa.int64()),
        ("messages", pa.int64()),
    ]
)


def read_archive(path: Path, input_format: str = "auto") -> pa.Table:
    """The archive's messages as a table with ``INPUT_SCHEMA`` plus an order column."""
    fmt = detect_format(path, input_format)
    if fmt == "parquet":
        dataset = ds.dataset(str(path), format="parquet", partitioning="hive")
        names = [f.name for f in INPUT_SCHEMA if f.name in dataset.schema.names]
        table = conform(dataset.to_table(columns=names))
    else:
        rows: dict[str, list] = {f.name: [] for f in INPUT_SCHEMA}
        for file in jsonl_files(path):
            for message in read_jsonl(file):
                for name in rows:
                    rows[name].append(getattr(message, name))
        table = pa.table(rows, schema=INPUT_SCHEMA)
    return table.append_column(ORDER_COLUMN, pa.array(range(table.num_rows), pa.int64()))


def sort_for_scoring(table: pa.Table) -> pa.Table:
    """Conversation-contiguous, each in ``sent_at`` (missing first) then archive order."""
    table = table.append_column(SORT_COLUMN, pc.fill_null(table.column("sent_at"), ""))
    return table.sort_by(
        [("conversation_id", "ascending"), (SORT_COLUMN, "ascending"), (ORDER_COLUMN, "ascending")]
    )


def account_table(conversations: pa.Table) -> pa.Table:
    """Per-account risk from the conversations' per-author scores."""
    authors = conversations.column("authors").combine_chunks()
    parents = pc.list_parent_indices(authors)
    flat = pc.list_flatten(authors)
    flagged = pc.take(conversations.column("flagged"), parents)
    groomer = pc.take(conversations.column("likely_groomer"), parents)
    sender = flat.field("sender_id")
    exploded = pa.table(
        {
            "sender_id": sender,
            "score": flat.field("score"),
            "messages": flat.field("messages"),
            "flagged": pc.cast(flagged, pa.int64()),
            "groomer": pc.cast(pc.fill_null(pc.equal(groomer, sender), False), pa.int64()),
        }
    )
    grouped = exploded.group_by("sender_id").aggregate(
        [
            ("score", "max"),
            ("score", "mean"),
            ("score", "count"),
            ("flagged", "sum"),
            ("groomer", "sum"),
            ("messages", "sum"),
        ]
    )
    table = pa.table(
        {
            "sender_id": grouped.column("sender_id"),
            "max_score": grouped.column("score_max"),
            "mean_score": grouped.column("score_mean"),
            "conversations": grouped.column("score_count"),
            "conversations_flagged": grouped.column("flagged_sum"),
            "likely_groomer_in": grouped.column("groomer_sum"),
            "messages": grouped.column("messages_sum"),
        },
        schema=ACCOUNT_SCHEMA,
    )
    return table.sort_by([("max_score", "descending"), ("sender_id", "ascending")])


def _write(table: pa.Table, directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    pq.write_table(table, directory / "part-00000.parquet")


def run_local(
    input_path: Path,
    output: Path,
    spec: DetectorSpec,
    input_format: str = "auto",
    on_progress: Callable[[int], None] | None = None,
) -> None:
    """Score the archive in this process; writes ``conversations/`` and ``accounts/``.

    ``on_progress`` is called with the number of messages scored so far.
    """
    table = sort_for_scoring(read_archive(input_path, input_format))
    batches = score_batches(table.to_batches(max_chunksize=SCORE_CHUNK), spec, on_progress)
    conversations = pa.Table.from_batches(list(batches), schema=CONVERSATION_SCHEMA)
    _write(conversations, output / "conversations")
    _write(account_table(conversations), output / "accounts")
