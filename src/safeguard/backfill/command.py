"""The ``backfill`` command: the same options for ``safeguard backfill`` and ``spark-submit``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from safeguard.errors import InputError


def backfill_command(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT", help="Parquet or JSONL archive (file or directory)")],
    output: Annotated[Path, typer.Argument(metavar="OUTPUT", help="directory for conversations/ and accounts/ Parquet")],
    engine: Annotated[str, typer.Option(help="spark (local[*] or spark-submit's master) or local")] = "spark",
    input_format: Annotated[str, typer.Option("--format", help="parquet, jsonl or auto")] = "auto",
    embeddings: Annotated[bool, typer.Option(help="run the slower nearest-example stage too")] = False,
    model: Annotated[Path | None, typer.Option(help="a model saved by `safeguard train`")] = None,
    threshold: Annotated[float | None, typer.Option(help="flag threshold (default: the detector's)")] = None,
    master: Annotated[str | None, typer.Option(help="Spark master (default local[*], or spark-submit's)")] = None,
    shuffle_partitions: Annotated[int | None, typer.Option(help="spark.sql.shuffle.partitions")] = None,
) -> None:
    """Scan a message archive with the grooming detector; write per-conversation and per-account risk."""
    from safeguard.backfill import BackfillOptions, run_backfill

    if engine not in ("spark", "local"):
        raise InputError("must be spark or local", field="--engine")
    options = BackfillOptions(
        embeddings=embeddings,
        model_path=str(model) if model else None,
        threshold=threshold,
        input_format=input_format,
        master=master,
        shuffle_partitions=shuffle_partitions,
    )
    summary = run_backfill(input_path, output, engine=engine, options=options)
    typer.echo(
        f"scanned {summary.messages} messages in {summary.conversations} conversations "
        f"({summary.flagged} flagged, {summary.accounts} accounts) in {summary.seconds:.1f}s "
        f"with the {engine} engine -> {output}"
    )
