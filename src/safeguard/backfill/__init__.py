"""Back-fill: scan a message archive with the grooming detector, on Spark or locally.

``run_backfill(INPUT, OUTPUT, engine="spark"|"local")`` reads Parquet or JSONL
(a file or a directory, e.g. partitioned by conversation), scores every
conversation with the same streaming detector as the API (the fast lexicon
path by default, ``embeddings=True`` for the nearest-example stage) and writes
``OUTPUT/conversations`` and ``OUTPUT/accounts`` as Parquet. Both engines run
``score.score_batches``; only the reading, sorting and aggregation differ.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds

from safeguard.backfill.score import DetectorSpec, score_batches, score_conversation

PROGRESS_UNITS = {"local": "messages", "spark": "tasks"}


@dataclass(frozen=True, slots=True)
class BackfillOptions:
    """Detector and engine options of one run."""

    embeddings: bool = False
    model_path: str | None = None
    threshold: float | None = None
    input_format: str = "auto"
    master: str | None = None
    shuffle_partitions: int | None = None

    @property
    def detector(self) -> DetectorSpec:
        return DetectorSpec(self.model_path, self.threshold, self.embeddings)


@dataclass(frozen=True, slots=True)
class BackfillSummary:
    """Counts read back from the written output."""

    messages: int
    conversations: int
    flagged: int
    accounts: int
    seconds: float


def run_backfill(
    input_path: Path,
    output: Path,
    *,
    engine: str = "spark",
    options: BackfillOptions | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> BackfillSummary:
    """Run the job on ``engine`` (``spark`` or ``local``) and summarise what it wrote.

    ``on_progress`` is called with a running count: messages scored (``local``) or
    Spark tasks completed (``spark``, see ``PROGRESS_UNITS``).
    """
    options = options or BackfillOptions()
    started = time.perf_counter()
    if engine == "local":
        from safeguard.backfill.local import run_local

        run_local(input_path, output, options.detector, options.input_format, on_progress)
    else:
        from safeguard.backfill.spark import run_spark

        run_spark(
            input_path,
            output,
            options.detector,
            options.input_format,
            master=options.master,
            shuffle_partitions=options.shuffle_partitions,
            on_progress=on_progress,
        )
    seconds = time.perf_counter() - started
    conversations = ds.dataset(str(output / "conversations"), format="parquet").to_table(
        columns=["messages", "flagged"]
    )
    accounts = ds.dataset(str(output / "accounts"), format="parquet").count_rows()
    return BackfillSummary(
        messages=int(pc.sum(conversations.column("messages")).as_py() or 0),
        conversations=conversations.num_rows,
        flagged=int(pc.sum(pc.cast(conversations.column("flagged"), "int64")).as_py() or 0),
        accounts=accounts,
        seconds=seconds,
    )


__all__ = [
    "PROGRESS_UNITS",
    "BackfillOptions",
    "BackfillSummary",
    "DetectorSpec",
    "run_backfill",
    "score_batches",
    "score_conversation",
]
