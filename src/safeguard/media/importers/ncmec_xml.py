"""NCMEC hash-sharing XML (``<queryResult><images><image>...``), as the NCMEC
hash API returns it and threatexchange parses it.

Each ``<image>``/``<video>`` yields one row per supported fingerprint (MD5,
PDQ, SHA-256); its ``<id>`` is the external id and ``<classification>`` the
category. ``<deletedImage>``/``<deletedVideo>`` are tombstones. Parsed with
defusedxml (no entity expansion, no external entities).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from safeguard.errors import InputError
from safeguard.media.importers import ImportRow, RowError, read_text

_SUPPORTED = {"md5": "md5", "pdq": "pdq", "sha256": "sha256", "sha-256": "sha256"}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read(path: Path, source: str = "ncmec", **_options: str) -> Iterator[ImportRow | RowError]:
    """Rows of an NCMEC XML entries document."""
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    text = read_text(path)
    try:
        root = ElementTree.fromstring(text)
    except DefusedXmlException as exc:
        raise InputError(f"refused unsafe XML ({type(exc).__name__})", path=str(path)) from None
    except ElementTree.ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise InputError(f"malformed XML ({exc})", path=str(path), line=line) from None
    if _local(root.tag) != "queryResult":
        raise InputError(
            f"expected an NCMEC <queryResult> document, found <{_local(root.tag)}>", path=str(path)
        )
    number = 0
    for group in root:
        if _local(group.tag) not in ("images", "videos"):
            continue
        for entry in group:
            number += 1
            kind = _local(entry.tag)
            fields = {_local(child.tag): child for child in entry}
            entry_id = (fields["id"].text or "").strip() if "id" in fields else ""
            where = f"entry {number}" + (f" ({entry_id!r})" if entry_id else "")
            if kind not in ("image", "video", "deletedImage", "deletedVideo"):
                yield RowError(where, f"unknown element <{kind}>")
                continue
            if not entry_id:
                yield RowError(where, "entry has no <id>")
                continue
            if kind.startswith("deleted"):
                yield ImportRow(where, "", "", source=source, external_id=entry_id, deleted=True)
                continue
            category = (fields["classification"].text or "").strip() if "classification" in fields else ""
            fingerprints = fields.get("fingerprints")
            if fingerprints is None or not len(fingerprints):
                yield RowError(where, "entry has no <fingerprints>")
                continue
            for fp in fingerprints:
                name = _local(fp.tag).lower()
                value = (fp.text or "").strip()
                if name not in _SUPPORTED:
                    yield RowError(f"{where} {name}", f"fingerprint type {name!r} not matched on", True)
                    continue
                yield ImportRow(
                    f"{where} {name}",
                    _SUPPORTED[name],
                    value,
                    category=category,
                    source=source,
                    external_id=entry_id,
                )
