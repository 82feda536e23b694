"""uvicorn's HTTP protocol with a cap on request line and headers, checked as they arrive.

A request whose line and headers pass ``[http] max_header_bytes`` is answered 431 and
its connection closed while it is still arriving, before the parser buffers it.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from safeguard.config import get_settings

_HEADERS_END = b"\r\n\r\n"


class HeaderCappedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing (431, connection closed) a request whose
    line and headers pass ``[http] max_header_bytes`` before handing them to the parser,
    which would otherwise buffer any amount."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.max_header_bytes = get_settings().http.max_header_bytes
        self._header_bytes = 0
        self._in_headers = True
        self._tail = b""

    def data_received(self, data: bytes) -> None:
        if self._in_headers:
            room = self.max_header_bytes - self._header_bytes
            if len(data) > room and _HEADERS_END not in self._tail + data[: max(room, 0) + 4]:
                self._refuse()
                return
            self._header_bytes += len(data)
            self._tail = data[-3:]
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._in_headers = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_headers, self._header_bytes, self._tail = True, 0, b""

    def _refuse(self) -> None:
        if self.transport.is_closing():
            return
        self.logger.warning("Request headers over %d bytes: refused with 431.", self.max_header_bytes)
        body = (
            b'{"detail":"request headers are larger than %d bytes","field":"headers"}' % self.max_header_bytes
        )
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)
        )
        self.transport.close()
