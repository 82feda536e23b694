"""Streaming PAN 2012 XML reader (defusedxml iterparse, elements cleared as they are read).

Format: ``<conversations><conversation id=".."><message line="1"><author>..</author>
<time>hh:mm</time><text>..</text></message>...</conversation></conversations>``.
"""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from defusedxml.common import (
    DefusedXmlException,
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)
from defusedxml.ElementTree import DefusedXMLParser, ParseError, iterparse

from safeguard.errors import InputError
from safeguard.ingest.formats import (
    MAX_TEXT_CHARS,
    UTF8_BOM,
    check_skip_args,
    display_name,
    iter_byte_lines,
    open_binary,
    too_long_reason,
)
from safeguard.ingest.records import BadInputReport, Message

_CHUNK = 64 * 1024
# Characters XML 1.0 does not allow (besides surrogates, which UTF-8 decoding never yields).
_NOT_XML_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CHAR_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")
_PARTIAL_REF = re.compile(r"&(?:#[xX]?[0-9a-fA-F]{0,12})?$")
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_DECL_ENCODING_TEXT = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*)(["'])[A-Za-z0-9._-]+\2""")
_POSITION_SUFFIX = re.compile(r":\s*line \d+, column \d+$")


def _xml_char_allowed(code: int) -> bool:
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


def _drop_bad_char_ref(match: re.Match[str]) -> str:
    digits_hex, digits_dec = match.group(1), match.group(2)
    try:
        code = int(digits_hex, 16) if digits_hex is not None else int(digits_dec)
    except ValueError:  # pragma: no cover - the pattern only matches digits
        return ""
    return match.group(0) if _xml_char_allowed(code) else ""


def _incomplete_utf8_tail(data: bytes) -> int:
    """How many trailing bytes of ``data`` start a UTF-8 sequence that is not complete yet."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return 0
        if byte >= 0xC0:  # a lead byte
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return back if need > back else 0
    return 0


class CleanXmlStream:
    """A binary file-like wrapper that makes real-world PAN12 bytes parseable.

    Characters XML 1.0 does not allow (control characters, U+FFFE/U+FFFF) and character
    references to them are removed before the parser sees them; line breaks are kept so
    parser line numbers match the file. Invalid UTF-8 raises InputError with its line
    (``strict``) or is replaced by U+FFFD and its line recorded in ``bad_lines``.
    Files declaring another encoding (or with a UTF-16 byte-order mark) pass through as is.
    """

    def __init__(self, raw: BinaryIO, name: str, *, strict: bool) -> None:
        self._raw = raw
        self._name = name
        self._strict = strict
        self._started = False
        self._passthrough = False
        self._eof = False
        self._pending = b""  # an incomplete UTF-8 sequence carried to the next chunk
        self._carry = ""  # a possibly incomplete character reference carried forward
        self._out = b""
        self._lines_before = 0
        self.bad_lines: deque[int] = deque()
        self.removed_chars = 0
        self.saw_content = False

    def read(self, size: int = -1) -> bytes:
        while not self._eof and (size < 0 or not self._out):
            self._fill()
        if size < 0:
            data, self._out = self._out, b""
        else:
            data, self._out = self._out[:size], self._out[size:]
        return data

    def _read_raw(self) -> bytes:
        try:
            return self._raw.read(_CHUNK)
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}", path=self._name) from None

    def _fill(self) -> None:
        chunk = self._read_raw()
        if not self._started:
            self._started = True
            chunk = self._start(chunk)
        if not chunk:
            self._eof = True
        if chunk.strip():
            self.saw_content = True
        if self._passthrough:
            self._out += chunk
            return
        data = self._pending + chunk
        if self._eof:
            self._pending = b""
        else:
            keep = _incomplete_utf8_tail(data)
            self._pending = data[len(data) - keep :] if keep else b""
            data = data[: len(data) - keep] if keep else data
        text = data.decode("utf-8", "surrogateescape")
        if _ESCAPED_BYTE.search(text):
            text = self._invalid_bytes(text)
        self._lines_before += text.count("\n")
        text = self._carry + text
        self._carry = ""
        if not self._eof:
            partial = _PARTIAL_REF.search(text, max(0, len(text) - 16))
            if partial is not None:
                self._carry = text[partial.start() :]
                text = text[: partial.start()]
        cleaned = _CHAR_REF.sub(_drop_bad_char_ref, _NOT_XML_CHAR.sub("", text))
        self.removed_chars += len(text) - len(cleaned)
        self._out += cleaned.encode("utf-8")

    def _start(self, chunk: bytes) -> bytes:
        if chunk.startswith(UTF8_BOM):
            return chunk[len(UTF8_BOM) :]
        if chunk.startswith((b"\xff\xfe", b"\xfe\xff")):
            self._passthrough = True
            return chunk
        declared = _DECLARED_ENCODING.match(chunk)
        if declared is not None:
            encoding = declared.group(1).decode("ascii").lower()
            try:
                canonical = codecs.lookup(encoding).name
            except LookupError:
                raise InputError(
                    f"unknown encoding {encoding!r} in the XML declaration", path=self._name, line=1
                ) from None
            if canonical not in ("utf-8", "ascii"):
                self._passthrough = True  # let expat handle (or reject) the declared encoding
        return chunk

    def _invalid_bytes(self, text: str) -> str:
        seen_line = -1
        for match in _ESCAPED_BYTE.finditer(text):
            line = self._lines_before + text.count("\n", 0, match.start()) + 1
            if self._strict:
                byte = ord(match.group(0)) - 0xDC00
                raise InputError(f"invalid UTF-8 (byte 0x{byte:02x})", path=self._name, line=line)
            if line != seen_line:
                self.bad_lines.append(line)
                seen_line = line
        return _ESCAPED_BYTE.sub("\ufffd", text)


class _LineTreeBuilder(ET.TreeBuilder):
    """A tree builder that records the source lines where conversations and messages span."""

    def __init__(self) -> None:
        super().__init__()
        self.expat: Any = None
        self.spans: dict[int, list[int]] = {}

    def start(self, tag: str, attrs: dict[str, str]) -> ET.Element:  # type: ignore[override]
        elem = super().start(tag, attrs)
        if tag in ("message", "conversation"):
            line = self.expat.CurrentLineNumber
            self.spans[id(elem)] = [line, line]
        return elem

    def end(self, tag: str) -> ET.Element:  # type: ignore[override]
        elem = super().end(tag)
        span = self.spans.get(id(elem))
        if span is not None:
            span[1] = self.expat.CurrentLineNumber
        return elem


def read_pan12(
    path: str | Path,
    *,
    skip_bad: bool = False,
    report: BadInputReport | None = None,
) -> Iterator[Message]:
    """Stream messages from a PAN 2012 XML file ("-" for stdin).

    ``message_id`` is ``"{conversation id}:{line attribute}"``; ``text`` is '' when the text
    element is empty or missing. DTDs and entities are rejected (InputError). A bad message
    (e.g. no author) raises InputError or, with ``skip_bad``, is counted in ``report``;
    malformed XML always raises, since the rest of the file cannot be read.
    """
    check_skip_args(skip_bad, report)
    return _read_pan12(path, skip_bad, report)


def _read_pan12(
    path: str | Path, skip_bad: bool, report: BadInputReport | None
) -> Iterator[Message]:
    name = display_name(path)

    def fail(error: InputError) -> None:
        if not skip_bad or report is None:
            raise error
        report.add(error.describe())

    with open_binary(path) as raw:
        stream = CleanXmlStream(raw, name, strict=not skip_bad)
        builder = _LineTreeBuilder()
        parser = DefusedXMLParser(
            target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
        builder.expat = parser.parser
        events = iter(iterparse(stream, events=("start", "end"), parser=parser))
        stack: list[ET.Element] = []
        conversations: list[tuple[str | None, int]] = []  # (id or None if bad, line)
        in_message = 0
        while True:
            try:
                event, elem = next(events)
            except StopIteration:
                break
            except ParseError as exc:
                if not stream.saw_content:
                    return  # an empty (or whitespace-only) file: no records
                line = exc.position[0] if getattr(exc, "position", None) else None
                reason = _POSITION_SUFFIX.sub("", str(exc))
                raise InputError(f"malformed XML: {reason}", path=name, line=line) from None
            except DefusedXmlException as exc:
                raise _defused_error(exc, name, parser.parser.CurrentLineNumber) from None
            except (LookupError, ValueError) as exc:  # expat refuses the declared encoding
                raise InputError(f"unsupported XML encoding: {exc}", path=name, line=1) from None

            tag = elem.tag
            if event == "start":
                stack.append(elem)
                if tag == "conversation":
                    line = builder.spans.get(id(elem), [None])[0] or 0
                    conv_id = (elem.get("id") or "").strip()
                    conversations.append((conv_id or None, line))
                    if not conv_id and not skip_bad:
                        # under skip_bad each of its messages is counted instead
                        what = "missing" if elem.get("id") is None else "is empty"
                        raise InputError(f"conversation id {what}", path=name, line=line,
                                         field="id")
                elif tag == "message":
                    in_message += 1
                continue

            # an "end" event
            stack.pop()
            parent = stack[-1] if stack else None
            if tag == "message":
                in_message -= 1
                span = builder.spans.pop(id(elem), None) or [0, 0]
                message = None
                while stream.bad_lines and stream.bad_lines[0] < span[0]:
                    line = stream.bad_lines.popleft()
                    fail(InputError("invalid UTF-8 outside a message", path=name, line=line))
                try:
                    _check_bad_lines(stream, name, span[1])
                    message = _make_message(elem, conversations, name, span[0])
                except InputError as error:
                    fail(error)
                if parent is not None:
                    parent.remove(elem)
                elem.clear()
                if message is not None:
                    yield message
                continue
            if tag == "conversation":
                builder.spans.pop(id(elem), None)
                if conversations:
                    conversations.pop()
            if in_message == 0 and parent is not None:
                parent.remove(elem)
                elem.clear()
        # invalid bytes outside any message (e.g. between conversations)
        while stream.bad_lines:
            line = stream.bad_lines.popleft()
            fail(InputError("invalid UTF-8 outside a message", path=name, line=line))


def _check_bad_lines(stream: CleanXmlStream, name: str, end: int) -> None:
    """Raise if invalid bytes were replaced on the lines of this message (up to ``end``)."""
    first = None
    while stream.bad_lines and stream.bad_lines[0] <= end:
        line = stream.bad_lines.popleft()
        first = line if first is None else first
    if first is not None:
        raise InputError("invalid UTF-8 in this message", path=name, line=first)


def _make_message(
    elem: ET.Element, conversations: list[tuple[str | None, int]], name: str, line: int
) -> Message:
    def error(reason: str, field: str | None = None) -> InputError:
        return InputError(reason, path=name, line=line, field=field)

    if not conversations:
        raise error("message outside a <conversation> element")
    conv_id, conv_line = conversations[-1]
    if conv_id is None:
        raise error(f"the conversation at line {conv_line} has no id", "id")
    line_attr = (elem.get("line") or "").strip()
    if not line_attr:
        raise error("message has no 'line' attribute", "line")
    author_elem = elem.find("author")
    if author_elem is None:
        raise error("missing", "author")
    author = "".join(author_elem.itertext()).strip()
    if not author:
        raise error("is empty", "author")
    time_elem = elem.find("time")
    sent_at = "".join(time_elem.itertext()).strip() if time_elem is not None else ""
    text_elem = elem.find("text")
    text = "".join(text_elem.itertext()) if text_elem is not None else ""
    if len(text) > MAX_TEXT_CHARS:
        raise error(too_long_reason(len(text)), "text")
    return Message(
        conversation_id=conv_id,
        message_id=f"{conv_id}:{line_attr}",
        sender_id=author,
        text=text,
        sent_at=sent_at or None,
        line=line,
    )


def _defused_error(exc: DefusedXmlException, name: str, line: int | None) -> InputError:
    if isinstance(exc, DTDForbidden):
        reason = "DTDs (<!DOCTYPE>) are not allowed: they enable entity-expansion attacks"
    elif isinstance(exc, EntitiesForbidden):
        reason = "entity declarations are not allowed (entity expansion, e.g. 'billion laughs')"
    elif isinstance(exc, ExternalReferenceForbidden):
        reason = "external entity references are not allowed"
    else:
        reason = f"unsafe XML rejected: {exc}"
    return InputError(reason, path=name, line=line)


def read_predator_ids(path: str | Path) -> set[str]:
    """Read a PAN12 predator-id list: one author id a line, blanks and whitespace ignored."""
    name = display_name(path)
    ids: set[str] = set()
    with open_binary(path) as stream:
        for lineno, raw in iter_byte_lines(stream, name, max_bytes=1 << 20):
            if raw is None:
                raise InputError("line is longer than 1048576 bytes", path=name, line=lineno)
            if lineno == 1 and raw.startswith(UTF8_BOM):
                raw = raw[len(UTF8_BOM) :]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"invalid UTF-8 at byte {exc.start + 1} of the line", path=name, line=lineno
                ) from None
            author = text.strip()
            if author:
                ids.add(author)
    return ids
