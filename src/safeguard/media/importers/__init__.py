"""Bank list readers: one module per list format, each yielding rows or row errors.

A reader never touches the database; :func:`safeguard.media.banks.import_rows`
validates, de-duplicates and writes the rows in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from safeguard.errors import InputError

__all__ = ["FORMATS", "ImportRow", "RowError", "detect_format", "read_list"]


@dataclass(frozen=True)
class ImportRow:
    """One signal read from a list, before validation."""

    where: str  # "line 12", "entry 'image1' (md5)"
    signal_type: str
    value: str
    category: str = ""
    source: str = ""
    external_id: str = ""
    deleted: bool = False  # a tombstone: remove this (source, external_id) from the bank


@dataclass(frozen=True)
class RowError:
    """A row the reader could not use, and why. ``skipped`` rows are not errors
    (for example fingerprint types Safeguard does not match on)."""

    where: str
    reason: str
    skipped: bool = False


Reader = Callable[..., Iterator[ImportRow | RowError]]


def _readers() -> dict[str, Reader]:
    from safeguard.media.importers import csv_list, ncmec_xml, threatexchange, url_list

    return {
        "csv": csv_list.read,
        "ncmec-xml": ncmec_xml.read,
        "te-csv": threatexchange.read_dataset_csv,
        "te-file": threatexchange.read_signal_file,
        "urls": url_list.read,
    }


FORMATS = ("auto", "csv", "ncmec-xml", "te-csv", "te-file", "urls")


def read_text(path: Path) -> str:
    """The file as UTF-8 text (BOM allowed); InputError when unreadable."""
    if not path.exists():
        raise InputError("no such file", path=str(path))
    if not path.is_file():
        raise InputError("not a regular file", path=str(path))
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", path=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror})", path=str(path)) from None


def detect_format(path: Path) -> str:
    """Guess a list's format from its name and first line."""
    suffix = path.suffix.lower()
    head = read_text(path)[:4096].lstrip()
    if suffix == ".xml" or head.startswith("<"):
        return "ncmec-xml"
    first = head.splitlines()[0].strip().lower() if head else ""
    if first.startswith("signal_type,signal_str"):
        return "te-csv"
    if suffix == ".csv" or "," in first:
        return "csv"
    if first.split(" ", 1)[0] in {"pdq", "video_md5", "vpdq", "url", "url_md5", "md5", "sha256"}:
        return "te-file"
    return "urls"


def read_list(path: Path, fmt: str = "auto", **options: str) -> Iterator[ImportRow | RowError]:
    """Rows of the list at ``path`` in format ``fmt`` (``auto`` detects it)."""
    if fmt == "auto":
        fmt = detect_format(path)
    readers = _readers()
    if fmt not in readers:
        raise InputError(f"unknown list format {fmt!r} (known: {', '.join(FORMATS)})")
    return readers[fmt](path, **options)
