"""Plain URL lists: one URL, or one MD5 of a normalised URL, per line.

Lines of exactly 32 hex characters are read as URL MD5s, anything else as a
URL (``md5=True`` reads every line as an MD5, ``md5=False`` none).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from safeguard.media.importers import ImportRow, read_text

_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")


def read(
    path: Path, source: str = "", category: str = "", md5: str = "auto", **_options: str
) -> Iterator[ImportRow]:
    """Rows of a URL or URL-MD5 list."""
    for number, raw in enumerate(read_text(path).splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        as_md5 = bool(_MD5.match(line)) if md5 == "auto" else md5 == "true"
        yield ImportRow(
            f"line {number}",
            "url_md5" if as_md5 else "url",
            line,
            category=category,
            source=source,
        )
