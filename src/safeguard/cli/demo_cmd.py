"""`safeguard demo`: what `make run` does on the embedded default.

Scans the bundled example conversations and prints the risk report, then
starts the safety service on SQLite with demo accounts loaded and prints its
URL (``--no-serve`` stops after the report). The demo is served over plain
HTTP, so its console cookies go without ``Secure`` (a development setting,
``SAFEGUARD_CONSOLE_SECURE_COOKIES=false``, unless the environment sets it).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from safeguard.cli.app import app


def bundled_examples() -> Path:
    """Path of the bundled example conversations (JSONL)."""
    return Path(str(resources.files("safeguard.data.examples") / "conversations.jsonl"))


@app.command()
def demo(
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Start the service after the report.")] = True,
    host: Annotated[str, typer.Option(help="Interface for the service.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for the service.")] = 8000,
    fast: Annotated[bool, typer.Option("--fast", help="Skip the embedding stage in the report.")] = False,
) -> None:
    """Scan the bundled example conversations, then serve the API with demo data."""
    from safeguard.cli.text_cmds import _print_table
    from safeguard.text import load_detector
    from safeguard.text.pipeline import InputSpec, scan_input

    console = Console()
    path = bundled_examples()
    console.print(f"[bold]Safeguard demo[/]: scanning the bundled example conversations ({path.name})")
    detector = load_detector(embeddings=False if fast else None)
    results = list(scan_input(detector, InputSpec(path=str(path), fmt="jsonl")))
    _print_table(results, early=True, top=len(results), threshold=detector.threshold)
    if not serve:
        return
    from safeguard.config import get_settings
    from safeguard.server.serve import run
    from safeguard.service.demo import load_demo_data

    os.environ.setdefault("SAFEGUARD_CONSOLE_SECURE_COOKIES", "false")
    settings = get_settings()
    load_demo_data(settings.resolved_database_url())
    console.print(
        f"\n[bold green]Safety service[/] on http://{host}:{port}  (OpenAPI docs: http://{host}:{port}/docs)"
        f"\nData: {settings.resolved_database_url()}  |  create an API key: "
        "[cyan]safeguard keys create --scope ingest --scope review[/]  |  Ctrl-C stops it."
        "\n[yellow]Development mode[/]: console cookies are sent over plain HTTP (not Secure)."
    )
    run(host=host, port=port, log_level="warning")
