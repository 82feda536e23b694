"""The ``backfill`` command: the same options for ``safeguard backfill`` and ``spark-submit``.

``make_backfill_command(progress)`` builds it; ``progress(unit, quiet)`` is a context
manager giving the ``on_progress`` callback (the CLI passes its Rich bar; ``spark-submit``
runs without one), so this package never draws anything itself.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Annotated

import typer

from safeguard.errors import InputError

ProgressFactory = Callable[[str, bool], AbstractContextManager[Callable[[int], None] | None]]


def make_backfill_command(progress: ProgressFactory | None = None) -> Callable[..., None]:
    """The Typer command function, reporting progress through ``progress`` if given."""

    def backfill_command(
        input_path: Annotated[
            Path, typer.Argument(metavar="INPUT", help="Parquet or JSONL archive (file or directory)")
        ],
        output: Annotated[
            Path, typer.Argument(metavar="OUTPUT", help="directory for conversations/ and accounts/ Parquet")
        ],
        engine: Annotated[
            str, typer.Option(help="spark (local[*] or spark-submit's master) or local")
        ] = "spark",
        input_format: Annotated[str, typer.Option("--format", help="parquet, jsonl or auto")] = "auto",
        embeddings: Annotated[bool, typer.Option(help="run the slower nearest-example stage too")] = False,
        model: Annotated[Path | None, typer.Option(help="a model saved by `safeguard train`")] = None,
        threshold: Annotated[
            float | None, typer.Option(help="flag threshold (default: the detector's)")
        ] = None,
        master: Annotated[
            str | None, typer.Option(help="Spark master (default local[*], or spark-submit's)")
        ] = None,
        shuffle_partitions: Annotated[int | None, typer.Option(help="spark.sql.shuffle.partitions")] = None,
        quiet: Annotated[
            bool, typer.Option("--quiet", "-q", help="No progress bar or other non-error output on stderr.")
        ] = False,
    ) -> None:
        """Scan a message archive with the grooming detector; write per-conversation and per-account risk."""
        from safeguard.backfill import PROGRESS_UNITS, BackfillOptions, run_backfill

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
        bar = progress(PROGRESS_UNITS[engine], quiet) if progress is not None else nullcontext(None)
        with bar as on_progress:
            summary = run_backfill(
                input_path, output, engine=engine, options=options, on_progress=on_progress
            )
        typer.echo(
            f"scanned {summary.messages} messages in {summary.conversations} conversations "
            f"({summary.flagged} flagged, {summary.accounts} accounts) in {summary.seconds:.1f}s "
            f"with the {engine} engine -> {output}"
        )

    return backfill_command


backfill_command = make_backfill_command()
