"""How the case page shows a media item: the platform's file (``[console] media_url``)
or, without one, a stand-in drawn from the hash."""

from __future__ import annotations

import base64

from safeguard.web.settings import ConsoleSettings


def media_src(item: dict, settings: ConsoleSettings) -> str:
    """The img src of a media item: the configured media URL, else the hash drawn as a grid."""
    hashes = item.get("hashes") or {}
    if settings.media_url:
        try:
            return settings.media_url.format(
                sha256=hashes.get("sha256") or "", md5=hashes.get("md5") or "", pdq=hashes.get("pdq") or ""
            )
        except (KeyError, IndexError, ValueError):
            pass
    return hash_picture(hashes.get("pdq") or hashes.get("sha256") or "")


def hash_picture(hex_digest: str) -> str:
    """A data: URI drawing the hash's bits as a grid (a stand-in when no media URL is configured)."""
    bits = "".join(f"{int(c, 16):04b}" for c in hex_digest if c in "0123456789abcdef")[:256]
    size = 16
    cells = "".join(
        f'<rect x="{i % size}" y="{i // size}" width="1" height="1"/>' for i, b in enumerate(bits) if b == "1"
    )
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}">{cells}</svg>'
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
