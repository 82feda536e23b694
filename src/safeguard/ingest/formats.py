"""Format detection, dispatch, and helpers shared by the streaming readers."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from safeguard.errors import InputError
from safeguard.ingest.records import BadInputReport, Message

MAX_TEXT_CHARS = 1_000_000
"""Longest message or segment text accepted, in characters."""

MAX_LINE_BYTES = 64 * 1024 * 1024
"""Longest physical line read into memory (JSONL, CSV); longer lines are errors."""

UTF8_BOM = b"\xef\xbb\xbf"

MESSAGE_FORMATS = ("jsonl", "pan12")

_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".xml": "pan12",
    ".csv": "csv",
    ".tsv": "csv",
}

_SNIFF_BYTES = 4096


def display_name(path: str | Path) -> str:
    """How a path is named in error messages ("<stdin>" for "-")."""
    return "<stdin>" if str(path) == "-" else str(path)


@contextlib.contextmanager
def open_binary(path: str | Path) -> Iterator[BinaryIO]:
    """Open ``path`` for binary reading ("-" is stdin, left open); OSError -> InputError."""
    if str(path) == "-":
        yield sys.stdin.buffer
        return
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputError(f"cannot open file: {reason}", path=str(path)) from None
    try:
        yield handle
    finally:
        handle.close()


def iter_byte_lines(
    stream: BinaryIO, name: str, max_bytes: int = MAX_LINE_BYTES
) -> Iterator[tuple[int, bytes | None]]:
    """Yield ``(line_number, raw_line)``; ``raw_line`` is None for a line over ``max_bytes``.

    An over-long line is read through in chunks and discarded, so memory stays bounded.
    """
    lineno = 0
    while True:
        try:
            raw = stream.readline(max_bytes + 1)
        except OSError as exc:  # e.g. a directory given as a file
            raise InputError(
                f"cannot read: {exc.strerror or exc}", path=name, line=lineno + 1
            ) from None
        if not raw:
            return
        lineno += 1
        if len(raw) > max_bytes and not raw.endswith(b"\n"):
            while True:
                more = stream.readline(1 << 20)
                if not more or more.endswith(b"\n"):
                    break
            yield lineno, None
            continue
        yield lineno, raw


def check_skip_args(skip_bad: bool, report: BadInputReport | None) -> None:
    """``skip_bad`` needs a report to count into: skipping without one would drop silently."""
    if skip_bad and report is None:
        raise ValueError("skip_bad=True needs a BadInputReport to count skipped records")


def json_type_name(value: object) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def short_repr(value: str, limit: int = 40) -> str:
    """``repr`` of a value cut to ``limit`` characters, so errors never echo huge inputs."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def too_long_reason(length: int) -> str:
    return f"text is {length} characters; the limit is {MAX_TEXT_CHARS}"


def detect_format(path: str | Path) -> str:
    """Return "jsonl", "pan12" or "csv" from the extension, else by sniffing the first bytes.

    Raises InputError when the format cannot be told.
    """
    suffix = Path(str(path)).suffix.lower() if str(path) != "-" else ""
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    name = display_name(path)
    if str(path) == "-":
        peek = getattr(sys.stdin.buffer, "peek", None)
        head = peek(_SNIFF_BYTES)[:_SNIFF_BYTES] if peek is not None else b""
    else:
        with open_binary(path) as handle:
            try:
                head = handle.read(_SNIFF_BYTES)
            except OSError as exc:
                raise InputError(f"cannot read: {exc.strerror or exc}", path=name) from None
    fmt = _sniff(head)
    if fmt is None:
        what = "the file is empty" if not head.strip() else "unrecognised content"
        raise InputError(
            f"cannot detect the input format ({what}); expected JSONL (.jsonl), "
            "PAN 2012 XML (.xml) or CSV (.csv/.tsv); give the format explicitly",
            path=name,
        )
    return fmt


def _sniff(head: bytes) -> str | None:
    if head.startswith(UTF8_BOM):
        head = head[len(UTF8_BOM) :]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "pan12" if b"<\x00" in head or b"\x00<" in head else None
    stripped = head.lstrip()
    if stripped.startswith(b"<"):
        return "pan12"
    if stripped.startswith(b"{"):
        return "jsonl"
    first_line = stripped.split(b"\n", 1)[0]
    if first_line and any(sep in first_line for sep in (b",", b"\t", b";")):
        return "csv"
    return None


def read_messages(
    path: str | Path,
    fmt: str,
    *,
    skip_bad: bool = False,
    report: BadInputReport | None = None,
) -> Iterator[Message]:
    """Read messages from a JSONL or PAN12 file (``fmt`` "jsonl", "pan12", or "auto")."""
    check_skip_args(skip_bad, report)
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt == "jsonl":
        from safeguard.ingest.jsonl import read_jsonl

        return read_jsonl(path, skip_bad=skip_bad, report=report)
    if fmt == "pan12":
        from safeguard.ingest.pan12 import read_pan12

        return read_pan12(path, skip_bad=skip_bad, report=report)
    if fmt == "csv":
        raise InputError(
            "CSV holds whole conversations or segments, not messages; "
            "read it as text records (--text-column)",
            path=display_name(path),
        )
    raise InputError(
        f"unknown message format {fmt!r}; expected one of {', '.join(MESSAGE_FORMATS)}",
        path=display_name(path),
    )
