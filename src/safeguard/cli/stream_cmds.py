"""Commands: `worker` (Redis Streams decision worker), `publish` (producer) and `backfill` (archive scan)."""

from __future__ import annotations

import signal
import threading
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from safeguard.backfill.command import make_backfill_command
from safeguard.cli.app import app
from safeguard.cli.progress import Counter, bars_enabled, counting
from safeguard.errors import InputError

err = Console(stderr=True, highlight=False)


@app.command()
def worker(
    stream: Annotated[str, typer.Option("--stream", help="Redis URL, e.g. redis://127.0.0.1:6379/0")],
    partitions: Annotated[
        int, typer.Option(help="partition streams (same for every worker and producer)")
    ] = 8,
    prefix: Annotated[str, typer.Option(help="key prefix of this deployment's streams")] = "safeguard",
    group: Annotated[str, typer.Option(help="consumer group name")] = "deciders",
    batch: Annotated[int, typer.Option(help="entries in flight per read (XREADGROUP COUNT)")] = 64,
    block_ms: Annotated[int, typer.Option(help="longest wait for new entries")] = 500,
    lease_ms: Annotated[
        int, typer.Option(help="partition lease; a dead worker's partitions move after it")
    ] = 10_000,
    claim_idle_ms: Annotated[
        int, typer.Option(help="XAUTOCLAIM min-idle time for a dead worker's entries")
    ] = 10_000,
    max_failures: Annotated[int, typer.Option(help="failed attempts before an event is dead-lettered")] = 3,
    max_deliveries: Annotated[
        int, typer.Option(help="deliveries without a decision before dead-lettering")
    ] = 10,
    name: Annotated[str | None, typer.Option(help="consumer name (default host-pid-random)")] = None,
    exit_when_idle: Annotated[
        float | None, typer.Option(help="stop after this many seconds without entries")
    ] = None,
    deliver_webhooks: Annotated[
        bool, typer.Option(help="also send queued escalation webhooks from this process")
    ] = False,
    progress_seconds: Annotated[
        float, typer.Option(help="log processed counts at least this often (0 = only at shutdown)")
    ] = 30.0,
    progress_events: Annotated[
        int, typer.Option(help="also log them after this many events (0 = by time only)")
    ] = 10_000,
) -> None:
    """Decide message and media events from Redis Streams with the API's engine."""
    import redis

    from safeguard.api.logging import configure_logging
    from safeguard.config import get_settings
    from safeguard.runtime import freeze_startup_objects
    from safeguard.stream import StreamLayout, StreamWorker, WorkerConfig
    from safeguard.stream.decide import Decider

    if partitions < 1:
        raise InputError("must be at least 1", field="--partitions")
    if block_ms * 3 > lease_ms:
        raise InputError("--block-ms must be at most a third of --lease-ms", field="--block-ms")
    configure_logging(get_settings().log_level)  # JSON lines on stderr, the progress line included
    client = redis.Redis.from_url(stream, decode_responses=True)
    decider = Decider.from_settings(get_settings())
    freeze_startup_objects()
    if deliver_webhooks:
        decider.services.webhooks.start()
    config = WorkerConfig(
        batch=batch,
        block_ms=block_ms,
        lease_ms=lease_ms,
        claim_idle_ms=claim_idle_ms,
        max_failures=max_failures,
        max_deliveries=max_deliveries,
        name=name,
        progress_seconds=progress_seconds,
        progress_events=progress_events,
    )
    runner = StreamWorker(client, decider, StreamLayout(prefix, partitions, group), config)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    typer.echo(f"worker {runner.name} consuming {prefix}:events:0..{partitions - 1}", err=True)
    try:
        stats = runner.run(stop, exit_when_idle=exit_when_idle)
    finally:
        decider.close()
    typer.echo(
        f"decided {stats.decided}, replayed {stats.replayed}, dead-lettered {stats.dead}, "
        f"failures {stats.failures}, claimed {stats.claimed}",
        err=True,
    )


@app.command()
def publish(
    input_path: Annotated[Path, typer.Argument(help="JSONL of message events (the POST /v1/messages body)")],
    stream: Annotated[str, typer.Option("--stream", help="Redis URL")],
    partitions: Annotated[int, typer.Option(help="partition streams")] = 8,
    prefix: Annotated[str, typer.Option(help="key prefix")] = "safeguard",
    max_backlog: Annotated[
        int, typer.Option(help="wait while a partition holds this many entries")
    ] = 100_000,
    timeout: Annotated[float, typer.Option(help="give up after waiting this long for room")] = 30.0,
    strict: Annotated[bool, typer.Option(help="publish nothing if any line is invalid")] = False,
) -> None:
    """Add message events to the partition streams, with back-pressure.

    Each line is validated exactly as the worker will; invalid lines are reported on
    stderr with their line number and field, and skipped (``--strict``: nothing is published).
    """
    import redis

    from safeguard.stream import EventProducer, StreamLayout
    from safeguard.stream.events import InvalidEvent, message_fields_from_line

    valid: list[dict[str, str]] = []
    rejected = 0
    with input_path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                valid.append(message_fields_from_line(line))
            except InvalidEvent as exc:
                rejected += 1
                typer.echo(f"{input_path}:{lineno}: field '{exc.field}': rejected: {exc}", err=True)
    if strict and rejected:
        raise InputError(f"{rejected} invalid line(s); nothing published (--strict)", path=str(input_path))
    client = redis.Redis.from_url(stream, decode_responses=True)
    producer = EventProducer(
        client, StreamLayout(prefix, partitions), max_backlog=max_backlog, timeout=timeout
    )
    total = 0
    for start in range(0, len(valid), 500):
        total += len(producer.publish_fields(valid[start : start + 500]))
    typer.echo(f"published {total}, rejected {rejected}")


def _backfill_bar(unit: str, quiet: bool) -> AbstractContextManager[Counter]:
    """The Rich bar ``safeguard backfill`` shows on stderr (terminal only, not with --quiet)."""
    return counting("backfill", err, enabled=bars_enabled(err, quiet), unit=unit)


app.command(name="backfill")(make_backfill_command(_backfill_bar))
