"""How the case page shows a media item: the platform's file, fetched from the
configured ``media_url`` template. Without one there is nothing to show: the console
never draws a stand-in from the hash."""

from __future__ import annotations

from datetime import datetime

from safeguard.web.settings import ConsoleSettings

PLACEHOLDERS = ("sha256", "md5", "pdq", "message_id")


def media_src(item: dict, settings: ConsoleSettings) -> str | None:
    """The img src of a media item from the ``media_url`` template, or None when none is set
    (or the template names a placeholder this item lacks)."""
    if not settings.media_url:
        return None
    hashes = item.get("hashes") or {}
    values = {name: str(hashes.get(name) or "") for name in ("sha256", "md5", "pdq")}
    values["message_id"] = str(item.get("message_id") or "")
    try:
        return settings.media_url.format(**values)
    except (KeyError, IndexError, ValueError):
        return None


def revealed_items(timeline: list[dict], actor: str, *, since: datetime) -> set[int]:
    """Media items ``actor`` revealed in this login session: only audited reveals show a file."""
    shown = set()
    for record in timeline:
        payload = record.get("payload") or {}
        if record["action"] != "reveal_media" or record["actor"] != actor or record.get("purged"):
            continue
        if isinstance(payload.get("item"), int) and datetime.fromisoformat(record["at"]) >= since:
            shown.add(payload["item"])
    return shown
