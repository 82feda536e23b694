"""Command: `safeguard status`, the deployment at a glance (review backlog, stream, webhooks, latency)."""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import typer

from safeguard.cli.app import app
from safeguard.errors import InputError

DETECTOR = "safeguard_detector_seconds"


def _detector_latency(metrics_url: str | None, key: str | None) -> dict[str, float] | str:
    """The detector histogram summary from a running server's /metrics, or why there is none."""
    if metrics_url is None:
        return "n/a (pass --url to read a running server's /metrics)"
    if not key:
        raise InputError("an admin API key is needed to read /metrics", field="--key / SAFEGUARD_API_KEY")
    import httpx

    from safeguard.service.metrics import histogram_summary

    url = metrics_url.rstrip("/") + "/metrics"
    try:
        response = httpx.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=5.0)
    except httpx.HTTPError as exc:
        raise InputError(f"could not read {url}: {type(exc).__name__}", field="--url") from exc
    if response.status_code != 200:
        raise InputError(f"{url} answered {response.status_code}", field="--url")
    return histogram_summary(response.text, DETECTOR) or "no messages scored yet"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _render(body: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    cases = Table(title=f"Open cases ({body['open_cases']}, oldest {_age(body['oldest_open_seconds'])})")
    for column in ("kind", "open", "under 1h", "1h-24h", "over 24h", "oldest"):
        cases.add_column(column, justify="left" if column == "kind" else "right")
    for kind in body["cases"]:
        bands = kind["by_age"]
        cases.add_row(
            kind["kind"],
            str(kind["open"]),
            str(bands["under_1h"]),
            str(bands["1h_to_24h"]),
            str(bands["over_24h"]),
            _age(kind["oldest_seconds"]),
        )
    console.print(cases)
    reviewers = Table(title=f"Decisions per reviewer (last {body['decisions_window_hours']:g}h)")
    reviewers.add_column("reviewer")
    reviewers.add_column("decisions", justify="right")
    for name, count in body["decisions_by_reviewer"].items():
        reviewers.add_row(name, str(count))
    console.print(reviewers)
    hooks = body["webhooks"]
    console.print(
        f"Webhooks: pending {hooks['pending']} (retrying {hooks['retrying']}), failed {hooks['failed']}, "
        f"oldest pending {_age(hooks['oldest_pending_seconds'])}",
        highlight=False,
        markup=False,
    )
    _render_stream(console, body["stream"], Table)
    latency = body["detector_latency"]
    if isinstance(latency, dict):
        latency = (
            f"{latency['count']:.0f} messages, mean {_ms(latency['mean_seconds'])}, "
            f"p95 <= {_ms(latency['p95_seconds_at_most'])}"
        )
    console.print(f"Detector latency: {latency}", highlight=False, markup=False)


def _render_stream(console: Any, stream: dict | None, table_type: Any) -> None:
    if stream is None:
        console.print("Stream: not configured ([stream] url)", highlight=False, markup=False)
        return
    if stream["error"]:
        console.print(f"Stream: unreachable ({stream['error']})", highlight=False, markup=False)
        return
    table = table_type(
        title=f"Stream '{stream['prefix']}': {stream['dead_letters']} dead letters, "
        f"{stream['live_workers']} live workers"
    )
    for column in ("partition", "backlog", "pending", "lag", "oldest"):
        table.add_column(column, justify="right")
    for part in stream["partitions"]:
        lag = "?" if part["lag"] is None else str(part["lag"])
        table.add_row(
            str(part["partition"]),
            str(part["backlog"]),
            str(part["pending"]),
            lag,
            _age(part["oldest_seconds"]),
        )
    console.print(table)


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object instead of tables")] = False,
    url: Annotated[
        str | None,
        typer.Option("--url", help="a running server (http://host:port) to read detector latency from"),
    ] = None,
    key: Annotated[
        str | None, typer.Option("--key", help="admin API key for --url (default $SAFEGUARD_API_KEY)")
    ] = None,
) -> None:
    """Open cases by kind and age, decisions per reviewer, webhooks, stream lag and dead letters.

    Reads the configured database (and the `[stream] url` Redis when set); detector latency
    comes from a running server's /metrics with --url.
    """
    from safeguard.config import get_settings
    from safeguard.service.status import read_status
    from safeguard.store.db import get_sessionmaker

    settings = get_settings()
    probe = None
    if settings.stream.url is not None:
        from safeguard.stream.status import RedisStreamProbe

        probe = RedisStreamProbe(settings.stream)
    latency = _detector_latency(url, key or os.environ.get("SAFEGUARD_API_KEY"))
    with get_sessionmaker(settings.resolved_database_url())() as session:
        body = read_status(session, settings, probe).to_dict()
    body["detector_latency"] = latency
    if as_json:
        typer.echo(json.dumps(body, indent=2))
    else:
        _render(body)
