"""Streaming JSONL message reader: one JSON object per line, read and decoded line by line."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from safeguard.errors import InputError
from safeguard.ingest.formats import (
    MAX_LINE_BYTES,
    MAX_TEXT_CHARS,
    UTF8_BOM,
    check_skip_args,
    display_name,
    iter_byte_lines,
    json_type_name,
    open_binary,
    short_repr,
    too_long_reason,
)
from safeguard.ingest.records import AGE_BANDS, BadInputReport, Message

_ID_FIELDS = ("conversation_id", "message_id", "sender_id")
_SURROGATE = re.compile("[\\ud800-\\udfff]")


def read_jsonl(
    path: str | Path,
    *,
    skip_bad: bool = False,
    report: BadInputReport | None = None,
) -> Iterator[Message]:
    """Stream messages from a JSONL file ("-" for stdin).

    Blank lines are skipped. A bad line raises InputError naming the file, line and field,
    or with ``skip_bad`` is added to ``report`` and skipped.
    """
    check_skip_args(skip_bad, report)
    return _read_jsonl(path, skip_bad, report)


def _read_jsonl(
    path: str | Path, skip_bad: bool, report: BadInputReport | None
) -> Iterator[Message]:
    name = display_name(path)
    with open_binary(path) as stream:
        for lineno, raw in iter_byte_lines(stream, name):
            try:
                message = _parse_line(raw, lineno, name)
            except InputError as error:
                if not skip_bad or report is None:
                    raise
                report.add(error.describe())
                continue
            if message is not None:
                yield message


def _reject_constant(token: str) -> Any:
    raise ValueError(f"{token} is not allowed")


def _parse_line(raw: bytes | None, lineno: int, name: str) -> Message | None:
    def error(reason: str, field: str | None = None) -> InputError:
        return InputError(reason, path=name, line=lineno, field=field)

    if raw is None:
        raise error(f"line is longer than {MAX_LINE_BYTES} bytes")
    if lineno == 1 and raw.startswith(UTF8_BOM):
        raw = raw[len(UTF8_BOM) :]
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"invalid UTF-8 at byte {exc.start + 1} of the line") from None
    if not line.strip():
        return None
    hint = ""
    if line.lstrip().startswith("["):
        hint = "; JSONL needs one JSON object per line, not a JSON array"
    try:
        obj = json.loads(line, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise error(f"not valid JSON ({exc.msg} at column {exc.colno}){hint}") from None
    except (ValueError, RecursionError) as exc:
        raise error(f"not valid JSON ({exc}){hint}") from None
    if not isinstance(obj, dict):
        raise error(f"expected a JSON object, got {json_type_name(obj)}{hint}")

    ids = {}
    for key in _ID_FIELDS:
        if key not in obj:
            raise error("missing", key)
        value = obj[key]
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise error(f"expected a string or integer, got {json_type_name(value)}", key)
        ids[key] = str(value)
        if not ids[key].strip():
            raise error("is empty", key)

    if "text" not in obj:
        raise error("missing", "text")
    text = obj["text"]
    if not isinstance(text, str):
        raise error(f"expected a string, got {json_type_name(text)}", "text")
    if len(text) > MAX_TEXT_CHARS:
        raise error(too_long_reason(len(text)), "text")
    if _SURROGATE.search(text):
        raise error("contains an unpaired UTF-16 surrogate escape", "text")

    sent_at = obj.get("sent_at")
    if sent_at is not None:
        if isinstance(sent_at, bool) or not isinstance(sent_at, str | int | float):
            raise error(
                f"expected a string, number or null, got {json_type_name(sent_at)}", "sent_at"
            )
        if isinstance(sent_at, float) and not math.isfinite(sent_at):
            raise error("is not a finite number", "sent_at")
        sent_at = str(sent_at)
        if _SURROGATE.search(sent_at):
            raise error("contains an unpaired UTF-16 surrogate escape", "sent_at")

    band = obj.get("sender_age_band")
    if band is not None:
        if not isinstance(band, str):
            raise error(
                f"expected a string or null, got {json_type_name(band)}", "sender_age_band"
            )
        normalised = band.strip().lower()
        if normalised not in AGE_BANDS:
            raise error(
                f"must be one of {', '.join(AGE_BANDS)} or null, got {short_repr(band)}",
                "sender_age_band",
            )
        band = normalised

    for key, value in ids.items():
        if _SURROGATE.search(value):
            raise error("contains an unpaired UTF-16 surrogate escape", key)

    return Message(
        conversation_id=ids["conversation_id"],
        message_id=ids["message_id"],
        sender_id=ids["sender_id"],
        text=text,
        sent_at=sent_at,
        sender_age_band=band,
        line=lineno,
    )
