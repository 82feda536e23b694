"""Entry point for ``spark-submit``.

    spark-submit [--master URL ...] path/to/safeguard/backfill/__main__.py INPUT OUTPUT [OPTIONS]

Takes the same arguments and options as ``safeguard backfill`` (engine spark).
"""

from __future__ import annotations

import sys

from safeguard.cli import app

if __name__ == "__main__":
    app(args=["backfill", *sys.argv[1:]], prog_name="safeguard backfill")
