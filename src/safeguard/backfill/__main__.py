"""Entry point for ``spark-submit``.

    spark-submit [--master URL ...] path/to/safeguard/backfill/__main__.py INPUT OUTPUT [OPTIONS]

Takes the same arguments and options as ``safeguard backfill`` (engine spark).
"""

from __future__ import annotations

import typer

from safeguard.backfill.command import backfill_command

if __name__ == "__main__":
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(backfill_command)
    app(prog_name="safeguard backfill")
