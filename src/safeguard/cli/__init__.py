"""Thin command-line interface over the library: one module per command group."""

from __future__ import annotations

import sys

from safeguard.cli import (  # noqa: F401  (each module registers its commands)
    case_cmds,
    client_cmds,
    demo_cmd,
    media_cmds,
    service_cmds,
    status_cmd,
    stream_cmds,
    text_cmds,
)
from safeguard.cli.app import app
from safeguard.errors import SafeguardError


def main() -> None:
    """Console-script entry point: user errors exit 2 with one clear line."""
    try:
        app()
    except SafeguardError as exc:
        from rich.console import Console

        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
        sys.exit(2)


__all__ = ["app", "main"]
